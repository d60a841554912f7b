#!/usr/bin/env python3
"""Start Debian's docker-registry (Distribution) on 127.0.0.1 and push test images.

The images are built with umoci from empty root filesystems (no network) and pushed
with skopeo. Once everything is pushed, a ready file (JSON) says where the registry
listens, the credentials when basic auth is on, and what was pushed, so tests assert
against it. The registry runs until this process gets SIGTERM/SIGINT, or its standard
input closes (--exit-on-stdin-close).

    registry_launcher.py --ready-file PATH [--auth none|basic] [--exit-on-stdin-close]

Images (repository:tag):
  apps/web:1.0, apps/web:latest  one image, two tags: runs as user `app`, labels, an
                                 environment variable whose value is a canary that must
                                 never reach the lake, base-image annotations, one layer
  apps/root:v1                   runs as root (no user set), no labels
  apps/multi:2.0                 an OCI index of linux/amd64 and linux/arm64/v8
  apps/retag:v1                  pushed twice: the first image has no tag left
"""

import argparse
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

REGISTRY = "/usr/bin/docker-registry"
TOOLS = {"docker-registry": REGISTRY, "skopeo": "skopeo", "umoci": "umoci"}
BASE_NAME = "docker.io/library/debian:bookworm-slim"
BASE_DIGEST = "sha256:" + "ab" * 32


def fail(message):
    print(f"registry_launcher: error: {message}", file=sys.stderr)
    sys.exit(2)


def run(*args, cwd=None):
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"{' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def registry_config(root, port, htpasswd):
    lines = [
        "version: 0.1",
        "log:",
        "  level: error",
        "storage:",
        "  filesystem:",
        f"    rootdirectory: {root}",
        "  delete:",
        "    enabled: true",
        "http:",
        f"  addr: 127.0.0.1:{port}",
    ]
    if htpasswd:
        lines += ["auth:", "  htpasswd:", "    realm: lakewarden-test", f"    path: {htpasswd}"]
    return "\n".join(lines) + "\n"


def wait_ready(port, process):
    deadline = time.time() + 30
    while time.time() < deadline:
        if process.poll() is not None:
            fail(f"docker-registry exited with {process.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
            return
        except urllib.error.HTTPError:
            return  # 401 with auth on: it is serving
        except OSError:
            time.sleep(0.1)
    fail("docker-registry did not answer in 30 s")


def blob(layout, digest):
    with open(os.path.join(layout, "blobs", digest.replace(":", "/")), "rb") as f:
        return f.read()


def ref_descriptor(layout, tag):
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    for entry in index["manifests"]:
        if entry.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            return entry
    fail(f"no {tag} in {layout}")


def build(layout, tag, *config_args, layer_file=None):
    run("umoci", "new", "--image", f"{layout}:{tag}")
    if layer_file:
        run("umoci", "insert", "--image", f"{layout}:{tag}", layer_file, "/etc/app.conf")
    run("umoci", "config", "--image", f"{layout}:{tag}", *config_args)
    return ref_descriptor(layout, tag)


def add_index(layout, tag, platforms):
    """Write an OCI image index over already-built images and name it `tag`."""
    manifests = []
    for image_tag, platform in platforms:
        d = ref_descriptor(layout, image_tag)
        manifests.append(
            {"mediaType": d["mediaType"], "digest": d["digest"], "size": d["size"],
             "platform": platform}
        )
    body = json.dumps(
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
         "manifests": manifests},
        separators=(",", ":"),
    ).encode()
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", digest[7:]), "wb") as f:
        f.write(body)
    path = os.path.join(layout, "index.json")
    with open(path) as f:
        index = json.load(f)
    index["manifests"].append(
        {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest,
         "size": len(body), "annotations": {"org.opencontainers.image.ref.name": tag}}
    )
    with open(path, "w") as f:
        json.dump(index, f)
    return digest, [m["digest"] for m in manifests]


def push(layout, tag, dest, creds, all_images=False):
    args = ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--preserve-digests"]
    if all_images:
        args.append("--all")
    if creds:
        args += ["--dest-creds", f"{creds[0]}:{creds[1]}"]
    run(*args, f"oci:{layout}:{tag}", dest)


def image_facts(layout, descriptor):
    manifest = json.loads(blob(layout, descriptor["digest"]))
    size = manifest["config"]["size"] + sum(l["size"] for l in manifest["layers"])
    return {"digest": descriptor["digest"], "size": size, "layers": len(manifest["layers"])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--auth", choices=["none", "basic"], default="none")
    parser.add_argument("--exit-on-stdin-close", action="store_true")
    args = parser.parse_args()
    if os.path.exists(args.ready_file):
        os.remove(args.ready_file)
    for name, tool in TOOLS.items():
        if shutil.which(tool) is None:
            fail(f"{name} is not installed: run `make registry-tools`")

    work = tempfile.mkdtemp(prefix="lakewarden-registry-")
    creds = None
    htpasswd = None
    if args.auth == "basic":
        creds = ("lakewarden", "pw-" + secrets.token_hex(8))
        if shutil.which("htpasswd") is None:
            fail("htpasswd is not installed: run `make registry-tools`")
        htpasswd = os.path.join(work, "htpasswd")
        with open(htpasswd, "w") as f:
            f.write(run("htpasswd", "-Bbn", creds[0], creds[1]))
    port = free_port()
    config = os.path.join(work, "config.yml")
    with open(config, "w") as f:
        f.write(registry_config(os.path.join(work, "storage"), port, htpasswd))
    process = subprocess.Popen(
        [REGISTRY, "serve", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )

    def stop(*_):
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(work, ignore_errors=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    wait_ready(port, process)

    canary = "canary-" + secrets.token_hex(12)
    layout = os.path.join(work, "layout")
    run("umoci", "init", "--layout", layout)
    layer_file = os.path.join(work, "app.conf")
    with open(layer_file, "w") as f:
        f.write("listen = 8080\n")
    host = f"127.0.0.1:{port}"
    dest = lambda ref: f"docker://{host}/{ref}"

    web = build(
        layout, "web", "--config.user", "app", "--config.env", "PATH=/usr/local/bin:/usr/bin",
        "--config.env", f"LAKEWARDEN_SECRET_CANARY={canary}",
        "--config.entrypoint", "/usr/local/bin/web", "--config.cmd", "--serve",
        "--config.exposedports", "8080/tcp", "--config.label", "team=payments",
        "--config.label", "org.opencontainers.image.title=web",
        "--created", "2026-11-30T12:00:00Z", "--os", "linux", "--architecture", "amd64",
        "--manifest.annotation", f"org.opencontainers.image.base.name={BASE_NAME}",
        "--manifest.annotation", f"org.opencontainers.image.base.digest={BASE_DIGEST}",
        layer_file=layer_file,
    )
    push(layout, "web", dest("apps/web:1.0"), creds)
    push(layout, "web", dest("apps/web:latest"), creds)

    root = build(layout, "root", "--os", "linux", "--architecture", "amd64",
                 "--created", "2026-11-01T00:00:00Z")
    push(layout, "root", dest("apps/root:v1"), creds)

    build(layout, "amd64", "--os", "linux", "--architecture", "amd64", "--config.user", "1000")
    build(layout, "arm64", "--os", "linux", "--architecture", "arm64", "--config.user", "1000")
    index_digest, platform_digests = add_index(
        layout, "multi",
        [("amd64", {"os": "linux", "architecture": "amd64"}),
         ("arm64", {"os": "linux", "architecture": "arm64", "variant": "v8"})],
    )
    push(layout, "multi", dest("apps/multi:2.0"), creds, all_images=True)

    old = build(layout, "old", "--os", "linux", "--architecture", "amd64",
                "--config.label", "generation=old")
    push(layout, "old", dest("apps/retag:v1"), creds)
    new = build(layout, "new", "--os", "linux", "--architecture", "amd64",
                "--config.label", "generation=new")
    push(layout, "new", dest("apps/retag:v1"), creds)

    ready = {
        "endpoint": f"http://{host}",
        "host": host,
        "username": creds[0] if creds else None,
        "password": creds[1] if creds else None,
        "canary": canary,
        "images": {
            "web": image_facts(layout, web),
            "root": image_facts(layout, root),
            "multi": {"index": index_digest, "platforms": platform_digests},
            "retag_old": image_facts(layout, old),
            "retag_new": image_facts(layout, new),
        },
        "base_name": BASE_NAME,
        "base_digest": BASE_DIGEST,
    }
    tmp = args.ready_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump(ready, f, indent=2)
    os.replace(tmp, args.ready_file)

    if args.exit_on_stdin_close:
        threading.Thread(target=lambda: (sys.stdin.read(), stop()), daemon=True).start()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
