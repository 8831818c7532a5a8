//! Which broker image to run. One code path for the official `apache/kafka` image and the one
//! `docker/build-image.sh` builds offline: both honour the same environment-variable contract.

use crate::error::{Error, Result};
use futures::StreamExt;
use testcontainers::bollard::{query_parameters::CreateImageOptions, Docker};

/// How long a pull may take before we give up and point at the offline build.
const PULL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub name: String,
    pub tag: String,
}

impl ImageRef {
    /// Split `repo/name:tag` at the last colon after the last slash (a registry host may carry a
    /// port: `host:5000/kafka:4.1.1`). No tag means `latest`, as Docker does.
    pub fn parse(reference: &str) -> ImageRef {
        let slash = reference.rfind('/').map(|i| i + 1).unwrap_or(0);
        match reference[slash..].rfind(':') {
            Some(i) => ImageRef {
                name: reference[..slash + i].to_string(),
                tag: reference[slash + i + 1..].to_string(),
            },
            None => ImageRef { name: reference.to_string(), tag: "latest".to_string() },
        }
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.name, self.tag)
    }
}

pub fn official(version: &str) -> String {
    format!("apache/kafka:{version}")
}

pub fn local_build(version: &str) -> String {
    format!("kafka-chaos/kafka:{version}")
}

pub fn build_hint(version: &str) -> String {
    format!("build it offline with `make image KAFKA_VERSION={version}` (runs docker/build-image.sh {version})")
}

pub async fn is_present(docker: &Docker, reference: &str) -> bool {
    docker.inspect_image(reference).await.is_ok()
}

/// Pull an image; Err carries the engine's reason.
pub async fn pull(docker: &Docker, reference: &str) -> std::result::Result<(), String> {
    let image = ImageRef::parse(reference);
    let options = CreateImageOptions {
        from_image: Some(image.name.clone()),
        tag: Some(image.tag.clone()),
        ..Default::default()
    };
    let pulling = async {
        let mut stream = docker.create_image(Some(options), None, None);
        while let Some(item) = stream.next().await {
            item.map_err(|e| e.to_string())?;
        }
        Ok(())
    };
    match tokio::time::timeout(PULL_TIMEOUT, pulling).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {} s", PULL_TIMEOUT.as_secs())),
    }
}

/// Where an image came from, for `doctor` and the run's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageSource {
    Given,
    Local,
    Pulled,
}

/// `--image`/`KAFKA_CHAOS_IMAGE` if given; else the first present locally of `apache/kafka:<v>`
/// and `kafka-chaos/kafka:<v>`; else a pull of `apache/kafka:<v>`; else an error naming the
/// command that builds the image.
pub async fn resolve(
    docker: &Docker,
    version: &str,
    given: Option<&str>,
) -> Result<(String, ImageSource)> {
    if let Some(image) = given {
        if is_present(docker, image).await {
            return Ok((image.to_string(), ImageSource::Given));
        }
        return match pull(docker, image).await {
            Ok(()) => Ok((image.to_string(), ImageSource::Given)),
            Err(e) => Err(Error::infra(format!(
                "image {image} (from --image or KAFKA_CHAOS_IMAGE) is not present and cannot be \
                 pulled: {e}; pull or build it, or leave --image out to use {}",
                local_build(version)
            ))),
        };
    }
    for candidate in [official(version), local_build(version)] {
        if is_present(docker, &candidate).await {
            return Ok((candidate, ImageSource::Local));
        }
    }
    let official = official(version);
    match pull(docker, &official).await {
        Ok(()) => Ok((official, ImageSource::Pulled)),
        Err(e) => Err(Error::infra(format!(
            "no Kafka {version} image: neither {official} nor {} is present, and pulling {official} \
             failed ({e}); {}",
            local_build(version),
            build_hint(version)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::ImageRef;

    #[test]
    fn parses_references() {
        assert_eq!(ImageRef::parse("apache/kafka:4.1.1").to_string(), "apache/kafka:4.1.1");
        assert_eq!(ImageRef::parse("apache/kafka:4.1.1").name, "apache/kafka");
        assert_eq!(ImageRef::parse("kafka").tag, "latest");
        let with_port = ImageRef::parse("host:5000/kafka-chaos/kafka:3.9.1");
        assert_eq!(with_port.name, "host:5000/kafka-chaos/kafka");
        assert_eq!(with_port.tag, "3.9.1");
        assert_eq!(ImageRef::parse("host:5000/kafka").tag, "latest");
    }
}
