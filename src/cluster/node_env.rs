//! How each node's container is configured: its id and role, its environment (KRaft, listeners,
//! the broker settings), the container request, and the cluster id.

use super::*;

pub(super) fn plan_nodes(spec: &ClusterSpec, run_id: &str) -> Result<Vec<Node>> {
    let combined = spec.controllers == 0;
    let mut nodes = Vec::new();
    for id in 1..=spec.brokers as i32 {
        nodes.push(Node {
            id,
            role: if combined { NodeRole::Combined } else { NodeRole::Broker },
            container: format!("kafka-chaos-{run_id}-broker-{id}"),
            host_port: Some(docker::free_port()?),
        });
    }
    for k in 0..spec.controllers as i32 {
        let id = FIRST_CONTROLLER_ID + k;
        nodes.push(Node {
            id,
            role: NodeRole::Controller,
            container: format!("kafka-chaos-{run_id}-controller-{id}"),
            host_port: None,
        });
    }
    Ok(nodes)
}

pub(super) fn bootstrap_of(nodes: &[Node]) -> String {
    nodes
        .iter()
        .filter_map(|n| n.host_port.map(|p| format!("127.0.0.1:{p}")))
        .collect::<Vec<_>>()
        .join(",")
}

/// The environment for one node, in the official image's contract: every `KAFKA_FOO_BAR` becomes
/// `foo.bar` in server.properties.
pub(super) fn node_env(node: &Node, nodes: &[Node], spec: &ClusterSpec, cluster_id: &str) -> Vec<(String, String)> {
    let voters = nodes
        .iter()
        .filter(|n| n.role != NodeRole::Broker)
        .map(|n| format!("{}@{}:{CONTROLLER_PORT}", n.id, n.container))
        .collect::<Vec<_>>()
        .join(",");
    let brokers = spec.brokers as usize;
    let mut props: BTreeMap<String, String> = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        props.insert(k.to_string(), v);
    };
    set("node.id", node.id.to_string());
    set("controller.quorum.voters", voters);
    set("controller.listener.names", "CONTROLLER".into());
    set("listener.security.protocol.map", "INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT,EXTERNAL:PLAINTEXT".into());
    set("log.dirs", power::LOG_DIR.into());
    set("auto.create.topics.enable", "false".into());
    set("group.initial.rebalance.delay.ms", "0".into());
    set("offsets.topic.replication.factor", brokers.min(3).to_string());
    set("transaction.state.log.replication.factor", brokers.min(3).to_string());
    set("transaction.state.log.min.isr", brokers.min(2).to_string());
    match node.role {
        NodeRole::Controller => {
            set("process.roles", "controller".into());
            set("listeners", format!("CONTROLLER://:{CONTROLLER_PORT}"));
        }
        role => {
            let port = node.host_port.unwrap_or(EXTERNAL_PORT);
            set("process.roles", if role == NodeRole::Combined { "broker,controller" } else { "broker" }.into());
            let listeners = if role == NodeRole::Combined {
                format!("INTERNAL://:{INTERNAL_PORT},CONTROLLER://:{CONTROLLER_PORT},EXTERNAL://:{EXTERNAL_PORT}")
            } else {
                format!("INTERNAL://:{INTERNAL_PORT},EXTERNAL://:{EXTERNAL_PORT}")
            };
            set("listeners", listeners);
            set(
                "advertised.listeners",
                format!("INTERNAL://{}:{INTERNAL_PORT},EXTERNAL://127.0.0.1:{port}", node.container),
            );
            set("inter.broker.listener.name", "INTERNAL".into());
        }
    }
    if let Some(user) = &spec.sasl_plain {
        // Only the client listener authenticates; brokers and controllers talk plaintext.
        set("listener.security.protocol.map", "INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT,EXTERNAL:SASL_PLAINTEXT".into());
        set("sasl.enabled.mechanisms", "PLAIN".into());
        set(
            "listener.name.external.plain.sasl.jaas.config",
            format!("org.apache.kafka.common.security.plain.PlainLoginModule required user_{}=\"{}\";", user.username, user.password),
        );
    }
    for (k, v) in &spec.broker_config {
        set(k, v.clone());
    }
    let mut env: Vec<(String, String)> = props.into_iter().map(|(k, v)| (property_env_name(&k), v)).collect();
    env.push(("CLUSTER_ID".into(), cluster_id.to_string()));
    env.push(("KAFKA_HEAP_OPTS".into(), "-Xmx512m -Xms512m".into()));
    // Peers find a restarted or reconnected node by name; its address may change, so the JVM
    // must not cache name lookups (it caches for 30 s by default).
    env.push(("KAFKA_OPTS".into(), "-Dsun.net.inetaddr.ttl=0 -Dsun.net.inetaddr.negative.ttl=0".into()));
    env
}

/// `foo.bar_baz-qux` -> `KAFKA_FOO_BAR__BAZ___QUX`: the inverse of the image's mapping.
pub fn property_env_name(property: &str) -> String {
    let mut name = String::from("KAFKA_");
    for c in property.chars() {
        match c {
            '.' => name.push('_'),
            '_' => name.push_str("__"),
            '-' => name.push_str("___"),
            c => name.push(c.to_ascii_uppercase()),
        }
    }
    name
}

#[allow(clippy::too_many_arguments)]
pub(super) fn container_request(
    image: &str,
    node: &Node,
    nodes: &[Node],
    spec: &ClusterSpec,
    network: &str,
    run_id: &str,
    cluster_id: &str,
    handover: Option<&[String]>,
) -> testcontainers::ContainerRequest<GenericImage> {
    let image = image::ImageRef::parse(image);
    let mut generic = GenericImage::new(image.name, image.tag);
    // Every node, dedicated controllers too: `power-loss` may hit the target `controller`.
    let forgetful = spec.lazyfs.as_ref().zip(handover);
    if forgetful.is_some() {
        generic = generic.with_entrypoint("/bin/sh");
    }
    let mut request = generic
        .with_container_name(&node.container)
        .with_network(network)
        .with_label(RUN_LABEL, run_id)
        .with_label("kafka-chaos.node", node.label())
        .with_startup_timeout(STARTUP_TIMEOUT);
    for (k, v) in node_env(node, nodes, spec, cluster_id) {
        request = request.with_env_var(k, v);
    }
    if let Some(port) = node.host_port {
        request = request.with_mapped_port(port, ContainerPort::Tcp(EXTERNAL_PORT));
    }
    if let Some((lazyfs, handover)) = forgetful {
        let args = ["-c".to_string(), power::entrypoint_script(), "kafka-chaos-power-entrypoint".into()];
        request = request
            .with_cmd(args.into_iter().chain(handover.iter().cloned()))
            .with_mount(
                testcontainers::core::Mount::bind_mount(lazyfs.display().to_string(), power::LAZYFS_IN_CONTAINER)
                    .with_access_mode(testcontainers::core::AccessMode::ReadOnly),
            )
            // FUSE needs its device and CAP_SYS_ADMIN to mount; nothing more, never privileged.
            // The official image runs as an unprivileged user, who cannot mount.
            .with_cap_add("SYS_ADMIN")
            .with_user("0");
    }
    // One modifier: a later one would replace it.
    let fuse = forgetful.is_some();
    request.with_host_config_modifier(move |host| {
        // Never expose a broker beyond this machine.
        for bindings in host.port_bindings.iter_mut().flat_map(|m| m.values_mut()).flatten() {
            for binding in bindings.iter_mut() {
                binding.host_ip = Some("127.0.0.1".into());
            }
        }
        if fuse {
            host.devices.get_or_insert_with(Vec::new).push(testcontainers::bollard::models::DeviceMapping {
                path_on_host: Some("/dev/fuse".into()),
                path_in_container: Some("/dev/fuse".into()),
                cgroup_permissions: Some("rwm".into()),
            });
        }
    })
}

/// A KRaft cluster id: 16 random bytes, base64url without padding (22 characters). Never one
/// that starts with `-`: command lines read it as an option (`kafka-storage format -t -abc` fails
/// with "expected one argument", one start in 64), which is why Kafka's own `Uuid.randomUuid()`
/// draws again in that case too.
pub(super) fn cluster_id() -> String {
    loop {
        let id = base64url(&rand::random::<[u8; 16]>());
        if !id.starts_with('-') {
            return id;
        }
    }
}

pub(super) fn base64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
