"""The Kubernetes manifests (deploy/kubernetes): every overlay rendered
offline with `kubectl kustomize` (Debian's kubernetes-client, installed by
scripts/deps.sh; no cluster) and checked for what a deployment depends on:

- every environment variable of a mail container is an mtactl variable (or
  its NAME_FILE) that has a meaning in the container's image;
- no secret in the environment or in a ConfigMap: a secret variable, and a
  private-key path, only as a file in a mounted Secret volume, and every
  Secret mounted is in the render or created by the operator as
  deploy/kubernetes/README.md says;
- readiness and liveness probes run `mtactl health` in every mail container;
- each mail StatefulSet (mx above all) has /srv on a volumeClaimTemplate;
- the PodDisruptionBudget selects the mx pods; every Service selects pods
  and its target ports are their container ports; a public Service keeps
  client addresses (externalTrafficPolicy: Local, or PROXY protocol);
- DOVECOT_LMTP_LISTEN and PROXY_PROTOCOL come with their trusted networks,
  VIRTUAL_TRANSPORT's LMTP host is a Service of the render, and only mx
  pods may reach the store's LMTP port.

Then each tier's environment, as rendered, passes `mtactl config --check`
in the image the manifest names (${IMAGE:-mta}:rspamd and :base, with
stand-in files for the Secrets): the values, not only the names, are what
the image accepts. That part needs Docker and the images, as the rest of
tests/e2e; the offline checks do not.

The variable list comes from `build/mtactl env`, not from the README's
table: it is the code's table itself (the README is generated from it and
only as fresh as the last `make readme`), and it also tells which variables
are secret: given a value, `env` prints a secret one masked. The negative
tests break a rendered copy (and one overlay on disk) in one place each and
assert that the checker names the fault.
"""
import copy
import fcntl
import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
KDIR = ROOT / "deploy" / "kubernetes"
KUBECTL = os.environ.get("KUBECTL", "kubectl")
VARIANTS = ("mini", "base", "full", "rspamd")
SENTINEL = "zzk8ssentinel"
WORKLOADS = ("StatefulSet", "Deployment", "DaemonSet")
MAIL_IMAGE = re.compile(r"(^|/)mta:(%s)$" % "|".join(VARIANTS))


# --- inputs: the variable table, the renders, the documented Secrets ---------

class Var:
    def __init__(self, name, images, secret, doc):
        self.name, self.images, self.secret, self.doc = name, images, secret, doc

    @property
    def key_path(self):
        """A path variable naming a private key (SMTPD_TLS_KEY_FILE, the chain
        files that hold the key first): its file is a secret too."""
        return bool(re.search(r"_FILES?$", self.name)) and bool(re.search(r"\bkey\b", self.doc, re.I))


def _mtactl_env(env):
    p = subprocess.run([str(ROOT / "build" / "mtactl"), "env"], env=env, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    blocks, lines = [], p.stdout.splitlines()
    for i, line in enumerate(lines):
        if line and not line.startswith(" "):
            m = re.match(r"\s+images: (.*?)  default: .*  current: (.*)$", lines[i + 1])
            assert m, "unexpected mtactl env line: %r" % lines[i + 1]
            blocks.append((line, m.group(1), m.group(2), lines[i + 2].strip()))
    return blocks


@functools.lru_cache(maxsize=None)
def var_table():
    """name -> Var, from the code's table (`build/mtactl env`, built here)."""
    # under a lock: the xdist workers would otherwise build it at once
    with open("/tmp/mta-build-mtactl.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        p = subprocess.run(["make", "-s", "build/mtactl"], cwd=ROOT, capture_output=True, text=True,
                           timeout=600)
    assert p.returncode == 0, "make build/mtactl: %s" % p.stderr[-2000:]
    names = [b[0] for b in _mtactl_env({"PATH": os.environ.get("PATH", "/usr/bin:/bin")})]
    assert len(names) > 50, names
    # Every variable given a value with passwords in it: a secret one comes
    # back masked ("<secret, N characters>" or "user:***").
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env.update({n: "host u:%s v:%s" % (SENTINEL, SENTINEL) for n in names})
    table = {}
    for name, images, current, doc in _mtactl_env(env):
        imgs = VARIANTS if images == "all" else tuple(i.strip() for i in images.split(","))
        table[name] = Var(name, imgs, SENTINEL not in current, doc)
    return table


def kubectl():
    path = shutil.which(KUBECTL)
    if not path:
        pytest.fail("kubectl not found: scripts/deps.sh (make deps) installs Debian's kubernetes-client")
    return path


def render(directory):
    p = subprocess.run([kubectl(), "kustomize", str(directory)], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, "kubectl kustomize %s: %s" % (directory, p.stderr)
    return [d for d in yaml.safe_load_all(p.stdout) if d]


def targets():
    """The base and every overlay: each is something an operator may apply."""
    found = ["base"] + sorted("overlays/" + d.name for d in (KDIR / "overlays").iterdir()
                              if (d / "kustomization.yaml").exists())
    return found


@functools.lru_cache(maxsize=None)
def rendered(target):
    return render(KDIR / target)


def documented_secrets(readme_text):
    """Secrets the README tells the operator to create: name -> their keys,
    from its `kubectl ... create secret generic|tls NAME ...` lines."""
    out = {}
    text = readme_text.replace("\\\n", " ")
    for m in re.finditer(r"create secret (generic|tls) ([a-z0-9.-]+)([^\n]*)", text):
        kind, name, rest = m.groups()
        keys = set(re.findall(r"--from-(?:file|literal)=([A-Za-z0-9._-]+)=", rest))
        if kind == "tls":
            keys |= {"tls.crt", "tls.key"}
        out[name] = keys
    return out


@functools.lru_cache(maxsize=None)
def readme_secrets():
    return documented_secrets((KDIR / "README.md").read_text())


# --- the checker --------------------------------------------------------------

def selects(selector, labels):
    """Does a label selector (matchLabels/matchExpressions or a Service's plain
    map) select these labels? An empty selector selects nothing here."""
    if not selector:
        return False
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        selector = {"matchLabels": selector}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        k, op, vals = e["key"], e["operator"], e.get("values") or []
        if (op == "In" and labels.get(k) not in vals) or (op == "NotIn" and labels.get(k) in vals) \
                or (op == "Exists" and k not in labels) or (op == "DoesNotExist" and k in labels):
            return False
    return bool(selector.get("matchLabels") or selector.get("matchExpressions"))


class Render:
    def __init__(self, docs):
        self.docs = docs
        self.by = {}
        for d in docs:
            self.by[(d["kind"], d["metadata"]["name"])] = d

    def of(self, kind):
        return [d for d in self.docs if d["kind"] == kind]

    def workloads(self):
        return [d for d in self.docs if d["kind"] in WORKLOADS]


def pod_spec(w):
    return w["spec"]["template"]["spec"]


def pod_labels(w):
    return (w["spec"]["template"].get("metadata") or {}).get("labels") or {}


def ns(d):
    return d["metadata"].get("namespace")


def wname(w):
    return "%s/%s" % (w["kind"], w["metadata"]["name"])


def container_env(r, w, c, errors):
    """name -> value of a container's environment, ConfigMaps resolved."""
    env = {}
    where = "%s container %s" % (wname(w), c["name"])
    for ef in c.get("envFrom") or []:
        if "secretRef" in ef:
            errors.append("%s: envFrom secretRef %s puts a Secret in the environment; mount it and "
                          "use the NAME_FILE variables" % (where, ef["secretRef"].get("name")))
        elif "configMapRef" in ef:
            cm = r.by.get(("ConfigMap", ef["configMapRef"]["name"]))
            if cm is None:
                errors.append("%s: envFrom ConfigMap %s is not in the render"
                              % (where, ef["configMapRef"]["name"]))
                continue
            for k, v in (cm.get("data") or {}).items():
                env[ef.get("prefix", "") + k] = str(v)
    for e in c.get("env") or []:
        vf = e.get("valueFrom") or {}
        if "secretKeyRef" in vf:
            errors.append("%s: %s takes a Secret through the environment; mount it and use %s_FILE"
                          % (where, e["name"], re.sub("_FILE$", "", e["name"])))
            env[e["name"]] = ""
        elif "configMapKeyRef" in vf:
            ref = vf["configMapKeyRef"]
            cm = r.by.get(("ConfigMap", ref["name"])) or {}
            env[e["name"]] = str((cm.get("data") or {}).get(ref["key"], ""))
        else:
            env[e["name"]] = str(e.get("value", ""))
    return env


def image_variant(c):
    m = MAIL_IMAGE.search(c.get("image", ""))
    return m.group(2) if m else None


def is_mail_container(c, table):
    if image_variant(c):
        return True
    names = {e["name"] for e in c.get("env") or []}
    return bool(c.get("envFrom")) or any(n in table or n[:-5] in table for n in names)


def secret_file(w, c, path):
    """Where a path lies: (secret name, key) when it is a file of a mounted
    Secret volume (secret or projected), else None."""
    volumes = {v["name"]: v for v in pod_spec(w).get("volumes") or []}
    for m in c.get("volumeMounts") or []:
        mp = m["mountPath"].rstrip("/") + "/"
        if not path.startswith(mp):
            continue
        rel = path[len(mp):]
        v = volumes.get(m["name"]) or {}
        sources = []
        if "secret" in v:
            sources = [v["secret"]]
        elif "projected" in v:
            sources = [s["secret"] for s in v["projected"].get("sources") or [] if "secret" in s]
        for s in sources:
            items = s.get("items")
            if items is None:
                return s["secretName"], rel
            for it in items:
                if it["path"] == rel:
                    return s["secretName"], it["key"]
    return None


def check_container(r, w, c, table, secrets, errors):
    where = "%s container %s" % (wname(w), c["name"])
    variant = image_variant(c)
    if variant is None:
        errors.append("%s: image %r does not name an mta variant (%s)" % (where, c.get("image"),
                                                                         ", ".join(VARIANTS)))
    env = container_env(r, w, c, errors)
    for name, value in sorted(env.items()):
        base = name[:-5] if name.endswith("_FILE") and name[:-5] in table else name
        var = table.get(base)
        if var is None:
            errors.append("%s: %s is not an mtactl variable (`mtactl env` lists them)" % (where, name))
            continue
        if variant and variant not in var.images:
            errors.append("%s: %s has no meaning in the %s image (only in %s)"
                          % (where, base, variant, ", ".join(var.images)))
        if var.secret and name == base:
            errors.append("%s: the secret %s is given as a value; mount a Secret and set %s_FILE"
                          % (where, name, name))
            continue
        if (var.secret and name != base) or var.key_path:
            for path in [p for p in re.split(r"[\s,]+", value) if p]:
                found = secret_file(w, c, path)
                if found is None:
                    errors.append("%s: %s=%s is not in a mounted Secret volume" % (where, name, path))
                    continue
                sname, key = found
                secrets.setdefault(sname, set()).add((key, "%s %s" % (where, name)))
    # probes: Kubernetes' view of `mtactl health`
    for probe in ("readinessProbe", "livenessProbe"):
        cmd = ((c.get(probe) or {}).get("exec") or {}).get("command") or []
        if len(cmd) < 2 or os.path.basename(cmd[0]) != "mtactl" or cmd[1] != "health":
            errors.append("%s: no %s running `mtactl health` (got %r)" % (where, probe, cmd))
    # settings that need their partner
    for var, partner in (("DOVECOT_LMTP_LISTEN", "DOVECOT_LMTP_TRUSTED_NETWORKS"),
                         ("PROXY_PROTOCOL", "PROXY_TRUSTED_NETWORKS")):
        if env.get(var) and not env.get(partner, "").strip():
            errors.append("%s: %s=%s without %s" % (where, var, env[var], partner))
    ports = {p["containerPort"] for p in c.get("ports") or []}
    lmtp = env.get("DOVECOT_LMTP_LISTEN", "")
    if lmtp and int(lmtp.rsplit(":", 1)[1]) not in ports:
        errors.append("%s: DOVECOT_LMTP_LISTEN=%s but no containerPort %s" % (where, lmtp,
                                                                         lmtp.rsplit(":", 1)[1]))
    m = re.match(r"lmtp:(?!unix:)\[?([^\]:]+)\]?:(\d+)$", env.get("VIRTUAL_TRANSPORT", ""))
    if m:
        check_transport(r, w, where, m.group(1), int(m.group(2)), errors)
    return env


def check_transport(r, w, where, host, port, errors):
    """VIRTUAL_TRANSPORT=lmtp:HOST:PORT: a Service of the render with that
    port (in its namespace when HOST says one: NAME.NAMESPACE.svc...)."""
    labels = host.split(".")
    svc = r.by.get(("Service", labels[0]))
    if svc is None:
        errors.append("%s: VIRTUAL_TRANSPORT host %s is no Service of the render" % (where, host))
        return
    if len(labels) > 1 and labels[1] != ns(svc):
        errors.append("%s: VIRTUAL_TRANSPORT host %s names namespace %s, the Service is in %s"
                      % (where, host, labels[1], ns(svc)))
    if port not in [p["port"] for p in svc["spec"].get("ports") or []]:
        errors.append("%s: VIRTUAL_TRANSPORT port %d is not a port of Service %s" % (where, port, labels[0]))


def check_configmaps(r, table, errors):
    """A secret never sits in a ConfigMap, used or not."""
    for cm in r.of("ConfigMap"):
        for k in (cm.get("data") or {}):
            var = table.get(k)
            if var is not None and var.secret:
                errors.append("ConfigMap %s: holds the secret %s; mount a Secret and set %s_FILE"
                              % (cm["metadata"]["name"], k, k))


def check_secrets_exist(r, secrets, documented, errors):
    """Every Secret a mail container reads exists (render or README), with the key read."""
    for w in r.workloads():
        for v in pod_spec(w).get("volumes") or []:
            names = [v["secret"]["secretName"]] if "secret" in v else [
                s["secret"]["name"] for s in (v.get("projected") or {}).get("sources") or [] if "secret" in s]
            for n in names:
                secrets.setdefault(n, set())
    for name, uses in sorted(secrets.items()):
        obj = r.by.get(("Secret", name))
        if obj is not None:
            keys = set(obj.get("data") or {}) | set(obj.get("stringData") or {})
        elif name in documented:
            keys = documented[name]
        else:
            errors.append("Secret %s is mounted but neither in the render nor created in "
                          "deploy/kubernetes/README.md" % name)
            continue
        for key, who in sorted(uses):
            if key not in keys:
                errors.append("%s: reads key %s of Secret %s, which has %s" % (who, key, name,
                                                                            sorted(keys)))


def check_storage(r, mail_workloads, errors):
    if ("StatefulSet", "mx") not in r.by:
        errors.append("no StatefulSet mx")
    for w in mail_workloads:
        if w["kind"] != "StatefulSet":
            errors.append("%s: mail containers belong in a StatefulSet (a queue volume per pod)" % wname(w))
            continue
        templates = {t["metadata"]["name"] for t in w["spec"].get("volumeClaimTemplates") or []}
        for c in pod_spec(w)["containers"]:
            mounts = [m for m in c.get("volumeMounts") or [] if m["mountPath"].rstrip("/") == "/srv"]
            if not mounts or mounts[0]["name"] not in templates:
                errors.append("%s container %s: /srv is not on a volumeClaimTemplate (a PVC per pod)"
                              % (wname(w), c["name"]))
        svc = r.by.get(("Service", w["spec"].get("serviceName", "")))
        if svc is None or svc["spec"].get("clusterIP") != "None" or \
                not selects(svc["spec"].get("selector"), pod_labels(w)):
            errors.append("%s: serviceName %r is no headless Service selecting its pods"
                          % (wname(w), w["spec"].get("serviceName")))
    mx = r.by.get(("StatefulSet", "mx"))
    if mx is not None and (mx["spec"].get("replicas") or 1) < 2:
        errors.append("StatefulSet mx: %s replica(s); the tier is meant to be replicated"
                      % mx["spec"].get("replicas"))


def check_pdb(r, errors):
    mx = r.by.get(("StatefulSet", "mx"))
    if mx is None:
        return
    pdbs = [p for p in r.of("PodDisruptionBudget")
            if ns(p) == ns(mx) and selects(p["spec"].get("selector"), pod_labels(mx))]
    if not pdbs:
        errors.append("no PodDisruptionBudget selects the pods of StatefulSet mx")
    for p in pdbs:
        if p["spec"].get("maxUnavailable") != 1:
            errors.append("PodDisruptionBudget %s: maxUnavailable %r, expected 1"
                          % (p["metadata"]["name"], p["spec"].get("maxUnavailable")))


def check_services(r, envs, errors):
    for svc in r.of("Service"):
        name, spec = svc["metadata"]["name"], svc["spec"]
        pods = [w for w in r.workloads() if ns(w) == ns(svc) and selects(spec.get("selector"), pod_labels(w))]
        if not pods:
            errors.append("Service %s: its selector %r selects no pod" % (name, spec.get("selector")))
            continue
        for p in spec.get("ports") or []:
            target = p.get("targetPort", p["port"])
            for w in pods:
                cports = [cp for c in pod_spec(w)["containers"] for cp in c.get("ports") or []]
                if not any(cp["containerPort"] == target or cp.get("name") == target for cp in cports):
                    errors.append("Service %s port %s: targetPort %r is no containerPort of %s"
                                  % (name, p["port"], target, wname(w)))
        if spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy", "Cluster") != "Local":
            for w in pods:
                for c in pod_spec(w)["containers"]:
                    if envs.get((wname(w), c["name"]), {}).get("PROXY_PROTOCOL") != "haproxy":
                        errors.append("Service %s: externalTrafficPolicy Cluster without PROXY_PROTOCOL "
                                      "in %s hides the client address (SNAT)" % (name, wname(w)))


def check_lmtp_policy(r, envs, errors):
    """Where the store listens for LMTP, a NetworkPolicy lets only mx in."""
    mx = r.by.get(("StatefulSet", "mx"))
    for w in r.workloads():
        for c in pod_spec(w)["containers"]:
            listen = envs.get((wname(w), c["name"]), {}).get("DOVECOT_LMTP_LISTEN")
            if not listen:
                continue
            port = int(listen.rsplit(":", 1)[1])
            policies = [p for p in r.of("NetworkPolicy") if ns(p) == ns(w) and
                        selects(p["spec"].get("podSelector"), pod_labels(w)) and
                        "Ingress" in (p["spec"].get("policyTypes") or ["Ingress"])]
            if not policies:
                errors.append("%s: LMTP on %d and no NetworkPolicy limits who reaches it" % (wname(w), port))
            for p in policies:
                for rule in p["spec"].get("ingress") or []:
                    rports = [x.get("port") for x in rule.get("ports") or []]
                    if rports and port not in rports:
                        continue
                    peers = rule.get("from") or []
                    ok = peers and mx is not None and all(
                        set(peer) == {"podSelector"} and selects(peer["podSelector"], pod_labels(mx))
                        and not any(selects(peer["podSelector"], pod_labels(o))
                                    for o in r.workloads() if o is not mx)
                        for peer in peers)
                    if not ok:
                        errors.append("NetworkPolicy %s: lets %s reach LMTP port %d of %s, not only the mx pods"
                                      % (p["metadata"]["name"], peers or "everyone", port, wname(w)))


# The API versions that clusters serve today (policy/v1beta1 went in 1.25).
API_VERSIONS = {"Namespace": "v1", "ConfigMap": "v1", "Secret": "v1", "Service": "v1",
                "StatefulSet": "apps/v1", "Deployment": "apps/v1", "DaemonSet": "apps/v1",
                "PodDisruptionBudget": "policy/v1", "NetworkPolicy": "networking.k8s.io/v1"}


def check_objects(r, mail_workloads, errors):
    """Kinds and API versions a cluster accepts, one namespace that the
    render creates, and time for mtactl's orderly stop."""
    for d in r.docs:
        want = API_VERSIONS.get(d["kind"])
        if want is None:
            errors.append("%s %s: a kind the checker does not know" % (d["kind"], d["metadata"]["name"]))
        elif d["apiVersion"] != want:
            errors.append("%s %s: apiVersion %s, expected %s" % (d["kind"], d["metadata"]["name"],
                                                                 d["apiVersion"], want))
    namespaces = {ns(d) for d in r.docs if d["kind"] != "Namespace"}
    made = {d["metadata"]["name"] for d in r.of("Namespace")}
    if len(namespaces) != 1 or not namespaces <= made:
        errors.append("objects in namespaces %s, the render creates %s" % (sorted(map(str, namespaces)),
                                                                          sorted(made)))
    for w in mail_workloads:
        grace = pod_spec(w).get("terminationGracePeriodSeconds")
        if grace is None or grace < 30:
            errors.append("%s: terminationGracePeriodSeconds %r; Postfix's deliveries and the gate's "
                          "drain need 30 s or more, set explicitly" % (wname(w), grace))


def check(docs, documented):
    """All the faults of a render, one line each (empty: none)."""
    table = var_table()
    r = Render(docs)
    errors, secrets, envs, mail = [], {}, {}, []
    check_configmaps(r, table, errors)
    for w in r.workloads():
        cs = [c for c in pod_spec(w)["containers"] if is_mail_container(c, table)]
        if cs:
            mail.append(w)
        for c in cs:
            envs[(wname(w), c["name"])] = check_container(r, w, c, table, secrets, errors)
    check_objects(r, mail, errors)
    check_secrets_exist(r, secrets, documented, errors)
    check_storage(r, mail, errors)
    check_pdb(r, errors)
    check_services(r, envs, errors)
    check_lmtp_policy(r, envs, errors)
    return errors


# --- the tests ----------------------------------------------------------------

def test_kubectl_is_installed():
    p = subprocess.run([kubectl(), "version", "--client"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr


def test_variable_table_knows_secrets():
    """The checker's notion of secret is the table's (VAR_SECRET), read
    through `mtactl env`: the known secrets are masked, plain ones not."""
    t = var_table()
    for name in ("LDAP_BIND_PW", "DKIM_PRIVATEKEY", "RSPAMD_PASSWORD", "SMTP_RELAY_HOSTAUTH",
                 "SMTPD_SASL_CLIENTAUTH", "MYSQL_PASSWORD"):
        assert t[name].secret, name
    for name in ("MAIL_DOMAIN", "LDAP_HOST", "VIRTUAL_TRANSPORT", "SMTPD_TLS_KEY_FILE"):
        assert not t[name].secret, name
    assert t["SMTPD_TLS_KEY_FILE"].key_path and t["SMTPD_TLS_CHAIN_FILES"].key_path
    assert not t["SMTPD_TLS_CERT_FILE"].key_path and not t["SMTP_TLS_CA_FILE"].key_path
    assert t["RSPAMD_PASSWORD"].images == ("rspamd",)


def test_overlays_exist():
    assert {"overlays/local-traffic", "overlays/proxy-protocol"} <= set(targets())


@pytest.mark.parametrize("target", ["base", "overlays/local-traffic", "overlays/proxy-protocol"])
def test_render_passes_checks(target):
    docs = rendered(target)
    kinds = {d["kind"] for d in docs}
    assert {"Namespace", "StatefulSet", "Service", "PodDisruptionBudget", "ConfigMap",
            "NetworkPolicy"} <= kinds, kinds
    assert check(docs, readme_secrets()) == []


def test_every_overlay_passes_checks():
    """Any overlay added later is checked too (the parametrized test names the two of today)."""
    for target in targets():
        assert check(rendered(target), readme_secrets()) == [], target


def test_proxy_overlay_turns_proxy_protocol_on():
    r = Render(rendered("overlays/proxy-protocol"))
    for cm in ("mx-env", "store-env"):
        data = r.by[("ConfigMap", cm)]["data"]
        assert data["PROXY_PROTOCOL"] == "haproxy" and data["PROXY_TRUSTED_NETWORKS"], cm
    for svc in ("mx", "store-imap"):
        assert r.by[("Service", svc)]["spec"]["externalTrafficPolicy"] == "Cluster"
    local = Render(rendered("overlays/local-traffic"))
    assert "PROXY_PROTOCOL" not in local.by[("ConfigMap", "mx-env")]["data"]
    for svc in ("mx", "store-imap"):
        assert local.by[("Service", svc)]["spec"]["externalTrafficPolicy"] == "Local"


def test_public_ports():
    r = Render(rendered("overlays/local-traffic"))
    def ports(name):
        return sorted(p["port"] for p in r.by[("Service", name)]["spec"]["ports"])
    assert ports("mx") == [25, 465, 587]
    assert ports("store-imap") == [110, 143, 993, 995]
    assert r.by[("Service", "store")]["spec"].get("type", "ClusterIP") == "ClusterIP"
    assert ports("store") == [24]


# One fault each, in a copy of the proxy-protocol render (or local-traffic
# where the fault only shows there): (id, target, mutation, expected text).
def _container(docs, kind, name):
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)[
        "spec"]["template"]["spec"]["containers"][0]


def _obj(docs, kind, name):
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def _set_env(c, name, value):
    for e in c["env"]:
        if e["name"] == name:
            e["value"] = value
            return
    c["env"].append({"name": name, "value": value})


def _drop_env(docs, cm, name):
    del _obj(docs, "ConfigMap", cm)["data"][name]


def _secret_key_ref(docs):
    c = _container(docs, "StatefulSet", "mx")
    c["env"] = [e for e in c["env"] if e["name"] != "LDAP_BIND_PW_FILE"]
    c["env"].append({"name": "LDAP_BIND_PW", "valueFrom": {"secretKeyRef": {"name": "mail-ldap",
                                                                             "key": "bind-password"}}})


def _rename_secret(docs):
    for v in _obj(docs, "StatefulSet", "mx")["spec"]["template"]["spec"]["volumes"]:
        if v.get("secret", {}).get("secretName") == "mail-dkim":
            v["secret"]["secretName"] = "mail-dkim-typo"


BROKEN = [
    ("secret-in-configmap", "overlays/proxy-protocol",
     lambda d: _obj(d, "ConfigMap", "mx-env")["data"].update(DKIM_PRIVATEKEY="MIIEvQIBADANBg"),
     "holds the secret DKIM_PRIVATEKEY"),
    ("secret-key-ref", "overlays/proxy-protocol", _secret_key_ref, "takes a Secret through the environment"),
    ("secret-envfrom", "overlays/proxy-protocol",
     lambda d: _container(d, "StatefulSet", "mx")["envFrom"].append({"secretRef": {"name": "mail-ldap"}}),
     "envFrom secretRef"),
    ("secret-file-on-volume", "overlays/proxy-protocol",
     lambda d: _set_env(_container(d, "StatefulSet", "mx"), "DKIM_PRIVATEKEY_FILE", "/srv/dkim.key"),
     "DKIM_PRIVATEKEY_FILE=/srv/dkim.key is not in a mounted Secret"),
    ("tls-key-on-volume", "overlays/proxy-protocol",
     lambda d: _set_env(_container(d, "StatefulSet", "store"), "SMTPD_TLS_KEY_FILE", "/srv/key.pem"),
     "SMTPD_TLS_KEY_FILE=/srv/key.pem is not in a mounted Secret"),
    ("secret-key-missing", "overlays/proxy-protocol",
     lambda d: _set_env(_container(d, "StatefulSet", "mx"), "LDAP_BIND_PW_FILE", "/run/secrets/ldap/bindpw"),
     "reads key bindpw of Secret mail-ldap"),
    ("undocumented-secret", "overlays/proxy-protocol", _rename_secret, "Secret mail-dkim-typo is mounted"),
    ("unknown-variable", "overlays/proxy-protocol",
     lambda d: _obj(d, "ConfigMap", "mx-env")["data"].update(MAIL_DOMIAN="example.com"),
     "MAIL_DOMIAN is not an mtactl variable"),
    ("variable-of-other-image", "overlays/proxy-protocol",
     lambda d: _set_env(_container(d, "StatefulSet", "store"), "RSPAMD_PASSWORD_FILE", "/run/secrets/tls/tls.key"),
     "RSPAMD_PASSWORD has no meaning in the base image"),
    ("no-readiness", "overlays/proxy-protocol",
     lambda d: _container(d, "StatefulSet", "mx").pop("readinessProbe"), "no readinessProbe"),
    ("liveness-not-health", "overlays/proxy-protocol",
     lambda d: _container(d, "StatefulSet", "store")["livenessProbe"].update(exec={"command": ["true"]}),
     "no livenessProbe running `mtactl health`"),
    ("no-queue-pvc", "overlays/proxy-protocol",
     lambda d: _obj(d, "StatefulSet", "mx")["spec"].pop("volumeClaimTemplates"),
     "StatefulSet/mx container mx: /srv is not on a volumeClaimTemplate"),
    ("mx-as-deployment", "overlays/proxy-protocol",
     lambda d: _obj(d, "StatefulSet", "mx").update(kind="Deployment"), "no StatefulSet mx"),
    ("pdb-selector", "overlays/proxy-protocol",
     lambda d: _obj(d, "PodDisruptionBudget", "mx")["spec"]["selector"]["matchLabels"].update(
         {"app.kubernetes.io/name": "mx-typo"}), "no PodDisruptionBudget selects the pods"),
    ("service-selector", "overlays/proxy-protocol",
     lambda d: _obj(d, "Service", "mx")["spec"]["selector"].update({"app.kubernetes.io/name": "mxx"}),
     "Service mx: its selector"),
    ("target-port", "overlays/proxy-protocol",
     lambda d: _obj(d, "Service", "store-imap")["spec"]["ports"][1].update(targetPort="imapz"),
     "targetPort 'imapz' is no containerPort"),
    ("lmtp-untrusted", "overlays/proxy-protocol",
     lambda d: _drop_env(d, "store-env", "DOVECOT_LMTP_TRUSTED_NETWORKS"),
     "DOVECOT_LMTP_LISTEN=*:24 without DOVECOT_LMTP_TRUSTED_NETWORKS"),
    ("proxy-untrusted", "overlays/proxy-protocol",
     lambda d: _drop_env(d, "mx-env", "PROXY_TRUSTED_NETWORKS"),
     "PROXY_PROTOCOL=haproxy without PROXY_TRUSTED_NETWORKS"),
    ("cluster-policy-without-proxy", "overlays/local-traffic",
     lambda d: _obj(d, "Service", "mx")["spec"].update(externalTrafficPolicy="Cluster"),
     "hides the client address"),
    ("transport-host", "overlays/proxy-protocol",
     lambda d: _obj(d, "ConfigMap", "mx-env")["data"].update(VIRTUAL_TRANSPORT="lmtp:stor.mail.svc.cluster.local:24"),
     "VIRTUAL_TRANSPORT host stor.mail.svc.cluster.local is no Service"),
    ("pdb-v1beta1", "overlays/proxy-protocol",
     lambda d: _obj(d, "PodDisruptionBudget", "mx").update(apiVersion="policy/v1beta1"),
     "apiVersion policy/v1beta1, expected policy/v1"),
    ("other-namespace", "overlays/local-traffic",
     lambda d: _obj(d, "Service", "store")["metadata"].update(namespace="default"),
     "objects in namespaces"),
    ("grace-default", "overlays/local-traffic",
     lambda d: _obj(d, "StatefulSet", "mx")["spec"]["template"]["spec"].pop("terminationGracePeriodSeconds"),
     "StatefulSet/mx: terminationGracePeriodSeconds None"),
    ("lmtp-open-to-all", "overlays/proxy-protocol",
     lambda d: _obj(d, "NetworkPolicy", "store-ingress")["spec"]["ingress"][0].pop("from"),
     "not only the mx pods"),
]


@pytest.mark.parametrize("target,mutate,expected", [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_checker_catches(target, mutate, expected):
    docs = copy.deepcopy(rendered(target))
    assert check(docs, readme_secrets()) == []
    mutate(docs)
    errors = check(docs, readme_secrets())
    assert any(expected in e for e in errors), errors


def test_documented_secrets_are_parsed():
    d = documented_secrets("kubectl -n mail create secret generic mail-ldap \\\n"
                           "    --from-file=bind-password=./bind-password\n"
                           "kubectl -n mail create secret tls mail-tls --cert=c --key=k\n")
    assert d == {"mail-ldap": {"bind-password"}, "mail-tls": {"tls.crt", "tls.key"}}
    assert {"mail-ldap", "mail-dkim", "mail-rspamd", "mail-tls"} <= set(readme_secrets())


def test_broken_overlay_on_disk_is_caught(tmp_path):
    """The whole path, kustomize included: an overlay that patches a
    password into the mx ConfigMap renders, and the checker refuses it."""
    shutil.copytree(KDIR, tmp_path / "k")
    o = tmp_path / "k" / "overlays" / "broken"
    o.mkdir()
    (o / "kustomization.yaml").write_text("bases:\n- ../proxy-protocol\npatchesStrategicMerge:\n- pw.yaml\n")
    (o / "pw.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mx-env\n"
                               "  namespace: mail\ndata:\n  LDAP_BIND_PW: hunter2\n")
    errors = check(render(o), readme_secrets())
    assert any("holds the secret LDAP_BIND_PW" in e for e in errors), errors
    assert any("the secret LDAP_BIND_PW is given as a value" in e for e in errors), errors


# --- the values, through the image's own validators ----------------------------

def _secret_files(directory, r, w, c):
    """Stand-ins for the Secrets a container mounts (the README's keys): an
    RSA key where a key is read, a certificate for it, a password else.
    Returns docker -v arguments."""
    volumes = {v["name"]: v for v in pod_spec(w).get("volumes") or []}
    args = []
    for m in c.get("volumeMounts") or []:
        v = volumes.get(m["name"]) or {}
        if "secret" not in v:
            continue
        name = v["secret"]["secretName"]
        d = directory / name
        d.mkdir()
        keys = readme_secrets().get(name, set())
        for key in sorted(keys):
            if key.endswith(".key"):
                subprocess.run(["openssl", "genrsa", "-out", str(d / key), "2048"], check=True,
                               capture_output=True, timeout=60)
        for key in sorted(keys):
            if key.endswith(".crt"):
                subprocess.run(["openssl", "req", "-x509", "-new", "-key", str(d / (key[:-4] + ".key")),
                                "-out", str(d / key), "-days", "2", "-subj", "/CN=mail.example.com"],
                               check=True, capture_output=True, timeout=60)
            elif not key.endswith(".key"):
                (d / key).write_text("k8s-test-password\n")
        for f in d.iterdir():
            f.chmod(0o644)   # read by the container's root, whatever the host's uid mapping
        args += ["-v", "%s:%s:ro" % (d, m["mountPath"])]
    return args


def config_check(net, tmp_path, target, tier, override=None):
    """`mtactl config --check` with a tier's environment as the render gives
    it (ConfigMap, NAME_FILE variables, stand-in Secret files at the mount
    paths) in the image the manifest names (IMAGE:<variant>)."""
    from dockerlib import IMAGE, LABEL, docker, unique_name
    r = Render(rendered(target))
    w = r.by[("StatefulSet", tier)]
    c = pod_spec(w)["containers"][0]
    errors = []
    env = container_env(r, w, c, errors)
    assert errors == []
    image = "%s:%s" % (IMAGE, image_variant(c))
    env.update(override or {})
    args = ["run", "--rm", "--name", unique_name("k8s-" + tier), "--label", LABEL, "--network", net,
            "--hostname", tier + "-0", "--entrypoint", "/usr/local/bin/mtactl"]
    args += _secret_files(tmp_path, r, w, c)
    for k, v in sorted(env.items()):
        args += ["-e", "%s=%s" % (k, v)]
    return image, docker(*args, image, "config", "--check", check=False, merge=True, timeout=120)


@pytest.mark.parametrize("target", ["overlays/local-traffic", "overlays/proxy-protocol"])
@pytest.mark.parametrize("tier", ["mx", "store"])
def test_environment_passes_config_check(net, tmp_path, target, tier):
    image, p = config_check(net, tmp_path, target, tier)
    assert p.returncode == 0, "mtactl config --check in %s: exit %d\n%s" % (image, p.returncode, p.stdout[-3000:])


def test_config_check_refuses_a_bad_value(net, tmp_path):
    """The same path can fail: a transport the image lacks stops it."""
    image, p = config_check(net, tmp_path, "overlays/local-traffic", "mx",
                            {"VIRTUAL_TRANSPORT": "carrier-pigeon:store"})
    assert p.returncode == 100 and 'VIRTUAL_TRANSPORT="carrier-pigeon:store"' in p.stdout, p.stdout[-3000:]
