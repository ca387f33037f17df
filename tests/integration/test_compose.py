#!/usr/bin/env python3
"""docker-compose.yml is valid for Debian's docker-compose (no Docker engine
runs on CI machines, so this checks the file, not the containers), and the
Dockerfile it builds names only files that exist."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import SRC, expect, expect_eq, run  # noqa: E402


def test_compose_config():
    out = subprocess.run(["docker-compose", "-f", os.path.join(SRC, "docker-compose.yml"),
                          "config", "--services"], capture_output=True, text=True, cwd=SRC)
    expect_eq(out.returncode, 0, out.stderr)
    services = set(out.stdout.split())
    expect({"db", "compstatd"} <= services, "services", services)
    full = subprocess.run(["docker-compose", "-f", os.path.join(SRC, "docker-compose.yml"),
                           "config"], capture_output=True, text=True, cwd=SRC).stdout
    expect("COMPSTATD_DATABASE" in full and "8080" in full, "daemon wired to the database")


def test_dockerfile_copies_existing_paths():
    with open(os.path.join(SRC, "Dockerfile")) as f:
        text = f.read()
    for m in re.finditer(r"^COPY (?!--from)(\S+)", text, re.M):
        expect(os.path.exists(os.path.join(SRC, m.group(1))), "Dockerfile copies " + m.group(1))


if __name__ == "__main__":
    run([test_compose_config, test_dockerfile_copies_existing_paths])
