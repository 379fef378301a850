"""The images as `make images` leaves them: every SemVer tag of VERSION on
every stage (`mini`, `mini-X.Y.Z`, `mini-X.Y`, `mini-X`, ...; `latest`,
`X.Y.Z`, `X.Y`, `X` on full), the OCI labels (version, source, revision,
created), `mtactl --version` printing VERSION, and `make clean` removing
every tag. The stages are read from the Makefile, so a new stage is
checked without changing this file.
"""
import datetime
import json
import re
import subprocess
from pathlib import Path

import pytest

from dockerlib import IMAGE, docker, image_exists, unique_name

ROOT = Path(__file__).resolve().parents[2]
VERSION = (ROOT / "VERSION").read_text().strip()
DEFAULT_STAGE = "full"
PROJECT = "mta"


def makefile_stages():
    m = re.search(r"^STAGES\s*:?=\s*(.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert m, "no STAGES in the Makefile"
    return m.group(1).split()


STAGES = makefile_stages()


def semver():
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", VERSION)
    assert m, "VERSION is %r, not X.Y.Z" % VERSION
    return [VERSION, "%s.%s" % m.group(1, 2), m.group(1)]


def stage_tags(stage):
    tags = [stage] + ["%s-%s" % (stage, v) for v in semver()]
    if stage == DEFAULT_STAGE:
        tags += ["latest"] + semver()
    return tags


def git(*args):
    return subprocess.run(["git", "-C", str(ROOT), *args], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True, timeout=30)


def image_id(ref):
    p = docker("image", "inspect", "-f", "{{.Id}}", ref, check=False)
    assert p.returncode == 0, "image %s is missing (make images IMAGE=%s)" % (ref, IMAGE)
    return p.stdout.strip()


@pytest.fixture(scope="module")
def built():
    for s in STAGES:
        if not image_exists("%s:%s" % (IMAGE, s)):
            pytest.fail("image %s:%s is missing: build it first (make images IMAGE=%s)" % (IMAGE, s, IMAGE))
    return True


def test_the_stages_include_the_three_images():
    assert {"mini", "base", "full"} <= set(STAGES), STAGES
    assert semver() and len(stage_tags("full")) == 8


@pytest.mark.parametrize("stage", STAGES)
def test_every_tag_names_its_stage(built, stage):
    want = image_id("%s:%s" % (IMAGE, stage))
    for tag in stage_tags(stage):
        assert image_id("%s:%s" % (IMAGE, tag)) == want, "%s:%s is not %s:%s" % (IMAGE, tag, IMAGE, stage)


def expected_source():
    p = git("config", "--get", "remote.origin.url")
    url = p.stdout.strip() if p.returncode == 0 else ""
    return re.sub(r"//[^/@]*@", "//", url) or PROJECT


def parse_rfc3339_utc(text):
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text), "created %r is not RFC 3339 UTC" % text
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize("stage", STAGES)
def test_oci_labels(built, stage):
    info = json.loads(docker("image", "inspect", "%s:%s" % (IMAGE, stage)).stdout)[0]
    labels = info["Config"].get("Labels") or {}
    oci = {k[len("org.opencontainers.image."):]: v for k, v in labels.items()
           if k.startswith("org.opencontainers.image.")}
    assert oci.get("version") == VERSION, oci
    assert oci.get("source") == expected_source(), oci

    rev = oci.get("revision")
    if git("rev-parse", "HEAD").returncode == 0:
        assert rev and re.fullmatch(r"[0-9a-f]{40}", rev), oci
        # built from this history (HEAD, or an ancestor when commits came since)
        assert git("merge-base", "--is-ancestor", rev, "HEAD").returncode == 0, \
            "revision %s is not in this checkout's history" % rev
    else:
        assert rev == "unknown", oci

    created = parse_rfc3339_utc(oci.get("created", ""))
    now = datetime.datetime.now(datetime.timezone.utc)
    assert created <= now + datetime.timedelta(minutes=1), created
    # docker's own creation time comes when the build ends, the label before it starts
    docker_created = datetime.datetime.fromisoformat(re.sub(r"(\.\d{6})\d*", r"\1",
                                                            info["Created"]).replace("Z", "+00:00"))
    assert docker_created - datetime.timedelta(hours=2) <= created \
        <= docker_created + datetime.timedelta(minutes=2), (created, docker_created)


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("args", [["mtactl", "--version"], ["mtactl", "version"]])
def test_mtactl_prints_the_version(built, stage, args):
    p = docker("run", "--rm", "--network", "none", "%s:%s" % (IMAGE, stage), *args,
               check=False, timeout=60)
    assert p.returncode == 0, p
    assert p.stdout == VERSION + "\n", (p.stdout, p.stderr)


def test_make_clean_removes_every_tag(built, tmp_path):
    """Every tag of every stage, made on a throwaway repository name, is gone
    after `make clean IMAGE=that` (BUILD pointed at a scratch directory)."""
    scratch = unique_name("clean")
    tags = [t for s in STAGES for t in stage_tags(s)]
    source = "%s:%s" % (IMAGE, STAGES[0])
    try:
        for t in tags:
            docker("tag", source, "%s:%s" % (scratch, t))
        build = tmp_path / "build"
        build.mkdir()
        p = subprocess.run(["make", "-C", str(ROOT), "--no-print-directory", "clean",
                            "IMAGE=" + scratch, "BUILD=" + str(build)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
        assert p.returncode == 0, p.stdout
        left = [t for t in tags if image_exists("%s:%s" % (scratch, t))]
        assert not left, "make clean left %s" % left
        assert not build.exists()
        assert image_exists(source), "make clean IMAGE=%s removed %s" % (scratch, source)
    finally:
        for t in tags:
            docker("rmi", "%s:%s" % (scratch, t), check=False)
