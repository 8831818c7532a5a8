#!/usr/bin/env python3
"""Regenerate the three tables of src/scenario/known_keys.rs from their authoritative sources.

    python3 tools/known-keys/gen.py [--kafka-version V] [--configuration-md FILE] [--check]

(`make known-keys` runs it.) Only the bodies of `CLIENT_PROPERTIES`, `TOPIC_CONFIGS` and
`BROKER_CONFIGS` are generated: the text between each `pub static NAME: ... = &[` line and the
next `];` line is replaced, everything else in the file (header, types, functions, tests) is
hand-written and kept as it is.

- `CLIENT_PROPERTIES`: librdkafka's CONFIGURATION.md as vendored in the `rdkafka-sys` crate the
  build uses (found with `cargo metadata --locked`, or else through Cargo.lock and
  $CARGO_HOME/registry/src). Global and topic sections; a name listed in both is merged (roles
  united, enum values united in order of first appearance, ranges united).
- `TOPIC_CONFIGS`, `BROKER_CONFIGS`: DumpConfigs.java run against the broker's jars of
  --kafka-version (default: docker/KAFKA_VERSION), resolved by mvn from docker/pom.xml exactly as
  docker/build-image.sh fetches them (Maven Central, or ~/.m2 when already there).

Python 3 standard library only; needs cargo, mvn and a JDK (11+, single-file source launch).
"""

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUTPUT = os.path.join(ROOT, "src", "scenario", "known_keys.rs")


def die(msg):
    sys.exit(f"known-keys: error: {msg}")


def log(msg):
    print(f"known-keys: {msg}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# librdkafka's CONFIGURATION.md -> CLIENT_PROPERTIES


def find_configuration_md():
    """CONFIGURATION.md of the rdkafka-sys crate this build resolves."""
    try:
        out = subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked"],
            cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout
        pkgs = [p for p in json.loads(out)["packages"] if p["name"] == "rdkafka-sys"]
        if len(pkgs) != 1:
            die(f"cargo metadata lists {len(pkgs)} rdkafka-sys packages, expected 1")
        crate_dir = os.path.dirname(pkgs[0]["manifest_path"])
    except (OSError, subprocess.CalledProcessError) as e:
        # E.g. Cargo.lock needs an update that --locked refuses: read the version from it.
        detail = getattr(e, "stderr", None) or str(e)
        log(f"cargo metadata failed ({detail.strip().splitlines()[-1] if detail.strip() else e}); "
            "falling back to Cargo.lock")
        with open(os.path.join(ROOT, "Cargo.lock")) as f:
            m = re.search(r'\[\[package\]\]\nname = "rdkafka-sys"\nversion = "([^"]+)"', f.read())
        if not m:
            die("no rdkafka-sys in Cargo.lock")
        cargo_home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
        dirs = sorted(glob.glob(os.path.join(cargo_home, "registry", "src", "*",
                                             f"rdkafka-sys-{m.group(1)}")))
        if not dirs:
            die(f"rdkafka-sys-{m.group(1)} is not in {cargo_home}/registry/src (try `cargo fetch`)")
        crate_dir = dirs[0]
    path = os.path.join(crate_dir, "librdkafka", "CONFIGURATION.md")
    if not os.path.isfile(path):
        die(f"{path} does not exist")
    return path


ROLES = {"P": {"P"}, "C": {"C"}, "*": {"P", "C"}}
TEXT_TYPES = {"string", "CSV flags", "pattern list"}


def parse_range(name, rng):
    m = re.fullmatch(r"(-?[0-9.]+) \.\. (-?[0-9.]+)", rng)
    if not m:
        die(f"{name}: range {rng!r} is not 'min .. max'")
    return m.group(1), m.group(2)


def parse_row(cols):
    """One table row -> (name, roles, kind); kind is a tuple ("Int", min, max), ("Enum", [..])."""
    name, cp, rng, _default, _importance, desc = (c.strip() for c in cols)
    if cp not in ROLES:
        die(f"{name}: unknown C/P {cp!r}")
    m = re.search(r"\*Type: ([^*]+)\*\s*$", desc)
    if not m:
        die(f"{name}: no '*Type: ...*' at the end of the description")
    typ = m.group(1)
    if typ == "boolean":
        kind = ("Bool",)
    elif typ == "integer":
        lo, hi = parse_range(name, rng)
        kind = ("Int", int(lo), int(hi))
    elif typ == "float":
        lo, hi = parse_range(name, rng)
        kind = ("Float", float(lo), float(hi))
    elif typ == "enum value":
        if not rng:
            die(f"{name}: an enum without values")
        kind = ("Enum", [v.strip() for v in rng.split(",")])
    elif typ in TEXT_TYPES:
        kind = ("Text",)
    elif typ == "see dedicated API":
        kind = ("Api",)
    else:
        die(f"{name}: unknown type {typ!r}")
    return name, set(ROLES[cp]), kind


def merge_kind(name, a, b):
    if a[0] != b[0]:
        die(f"{name}: listed twice with different types {a[0]} and {b[0]}")
    if a[0] == "Enum":
        return ("Enum", a[1] + [v for v in b[1] if v not in a[1]])
    if a[0] in ("Int", "Float"):
        return (a[0], min(a[1], b[1]), max(a[2], b[2]))
    return a


def client_properties(md_path):
    with open(md_path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    props = {}  # name -> [roles, kind]
    section = None
    for line in lines:
        if line.startswith("#"):
            section = {"## Global configuration properties": "global",
                       "## Topic configuration properties": "topic"}.get(line.strip())
            continue
        if section is None or "|" not in line:
            continue
        cols = re.split(r"(?<!\\)\|", line)
        if cols[0].strip() == "Property" or set(cols[0].strip()) == {"-"}:
            continue
        if len(cols) != 6:
            die(f"{md_path}: a row with {len(cols)} columns instead of 6: {line[:80]}")
        name, roles, kind = parse_row(cols)
        if name in props:
            props[name][0] |= roles
            props[name][1] = merge_kind(name, props[name][1], kind)
        else:
            props[name] = [roles, kind]
    if not props:
        die(f"{md_path}: no property rows found")
    return props


def rust_str(s):
    if '"' in s or "\\" in s:
        die(f"{s!r} would need escaping")
    return f'"{s}"'


def rust_f64(v):
    return f"{int(v)}.0" if v == int(v) else repr(v)


def rust_kind(kind):
    tag = kind[0]
    if tag == "Int":
        return f"ValueKind::Int {{ min: {kind[1]}, max: {kind[2]} }}"
    if tag == "Float":
        return f"ValueKind::Float {{ min: {rust_f64(kind[1])}, max: {rust_f64(kind[2])} }}"
    if tag == "Enum":
        return "ValueKind::Enum(&[" + ", ".join(rust_str(v) for v in kind[1]) + "])"
    return f"ValueKind::{tag}"


def client_rows(props):
    role_names = {frozenset("P"): "Producer", frozenset("C"): "Consumer",
                  frozenset("PC"): "Both"}
    return [
        f"    ClientProperty {{ name: {rust_str(name)}, "
        f"role: ClientRole::{role_names[frozenset(roles)]}, kind: {rust_kind(kind)} }},"
        for name, (roles, kind) in sorted(props.items())
    ]


# ---------------------------------------------------------------------------------------------
# Kafka's jars -> TOPIC_CONFIGS, BROKER_CONFIGS


def kafka_classpath(version):
    """The broker's runtime classpath, as docker/build-image.sh resolves it (docker/pom.xml)."""
    major = version.split(".")[0]
    profile = {"3": "reload4j", "4": "log4j2"}.get(major)
    if profile is None:
        die(f"only Kafka 3.x and 4.x are supported, not {version}")
    with tempfile.TemporaryDirectory() as tmp:
        cp_file = os.path.join(tmp, "classpath")
        cmd = ["mvn", "-q", "-B", "-f", os.path.join(ROOT, "docker", "pom.xml"),
               "dependency:build-classpath", f"-Dkafka.version={version}", f"-P{profile}",
               "-DincludeScope=runtime", f"-Dmdep.outputFile={cp_file}"]
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if r.returncode != 0 or not os.path.isfile(cp_file):
            sys.stderr.write(r.stdout + r.stderr)
            die(f"mvn could not resolve Kafka {version}'s jars")
        with open(cp_file) as f:
            return f.read().strip()


def kafka_configs(version):
    cp = kafka_classpath(version)
    r = subprocess.run(["java", "-cp", cp, os.path.join(HERE, "DumpConfigs.java")],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        die("DumpConfigs.java failed")
    topics, brokers = set(), set()
    for line in r.stdout.splitlines():
        what, _, name = line.partition(" ")
        if what == "topic":
            topics.add(name)
        elif what == "broker":
            brokers.add(name)
        else:
            die(f"DumpConfigs.java printed {line!r}")
    if not topics or not brokers:
        die("DumpConfigs.java printed no topic or no broker names")
    topics = {n for n in topics if not n.startswith("internal.")}
    return sorted(topics), sorted(brokers)


def name_rows(names):
    return [f"    {rust_str(n)}," for n in names]


# ---------------------------------------------------------------------------------------------
# The file


def replace_table(text, static, rows):
    """Replace the body of `pub static <static>: ... = &[` ... `];` with rows."""
    pat = re.compile(r"(^pub static " + re.escape(static) + r": [^\n]* = &\[\n)(.*?)(^\];\n)",
                     re.M | re.S)
    matches = pat.findall(text)
    if len(matches) != 1:
        die(f"expected one `pub static {static}: ... = &[ ... ];`, found {len(matches)}")
    return pat.sub(lambda m: m.group(1) + "".join(r + "\n" for r in rows) + m.group(3), text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kafka-version", help="default: docker/KAFKA_VERSION")
    ap.add_argument("--configuration-md", help="librdkafka's CONFIGURATION.md "
                    "(default: the one in the rdkafka-sys crate cargo resolves)")
    ap.add_argument("--output", default=OUTPUT, help="the file to update (default: %(default)s)")
    ap.add_argument("--check", action="store_true",
                    help="write nothing; exit 1 if the file is not up to date")
    args = ap.parse_args()

    version = args.kafka_version
    if not version:
        with open(os.path.join(ROOT, "docker", "KAFKA_VERSION")) as f:
            version = f.read().strip()
    if not re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", version):
        die(f"bad Kafka version {version!r}")
    md = args.configuration_md or find_configuration_md()

    props = client_properties(md)
    log(f"{len(props)} client properties from {md}")
    topics, brokers = kafka_configs(version)
    log(f"Kafka {version}: {len(topics)} topic configs, {len(brokers)} broker configs")

    with open(args.output, encoding="utf-8") as f:
        old = f.read()
    # The header's prose names the sources; it is hand-written, so only say when it went stale.
    header = old.split("\n\n", 1)[0]
    crate = os.path.basename(os.path.dirname(os.path.dirname(os.path.abspath(md))))
    for fact in (crate, f"Kafka {version}", f"{len(brokers)} names"):
        if fact not in header:
            log(f"warning: the header of {args.output} does not say {fact!r}; update its prose")
    new = replace_table(old, "CLIENT_PROPERTIES", client_rows(props))
    new = replace_table(new, "TOPIC_CONFIGS", name_rows(topics))
    new = replace_table(new, "BROKER_CONFIGS", name_rows(brokers))

    if args.check:
        if new != old:
            log(f"{args.output} is out of date (run `make known-keys`)")
            sys.exit(1)
        log(f"{args.output} is up to date")
        return
    if new != old:
        with open(args.output + ".tmp", "w", encoding="utf-8") as f:
            f.write(new)
        os.replace(args.output + ".tmp", args.output)
        log(f"wrote {args.output}")
    else:
        log(f"{args.output} unchanged")


if __name__ == "__main__":
    main()
