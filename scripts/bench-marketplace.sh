#!/usr/bin/env bash
# Marketplace installs, measured against their floor in one run:
#
# 1. One server (SQLite): RUNS marketplace installs of a listing into
#    tenant-abc123, each timed from sending the POST to the install's
#    `completedAt` (the server's clock is this machine's; polling every
#    20 ms only notices the end), against RUNS direct imports of the very
#    bundle the marketplace serves (multipart upload). Prints both medians
#    and their ratio, for the demo's package (5 artifacts) and for a large
#    one (BIG schemas of ~30 KB and an app: 100 artifacts, the
#    limit of the demo target tenant's Standard plan).
# 2. With PostgreSQL (BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/test
#    as the admin database; skipped when it cannot be reached): two replicas
#    on one new database and one bundle directory, QUEUED installs queued
#    on both, timed until every one is Success. Prints installs per second.
#
# RUNS (default 20), BIG (default 99) and QUEUED (default 100) set the
# counts. INSTALLHUB_BIN=PATH runs another build of the server (an older
# commit's, for before and after on the same machine).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
[ -n "${INSTALLHUB_BIN:-}" ] || cargo build --release --quiet --bin installhub
export BENCH_BIN="${INSTALLHUB_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/installhub}"
export RUNS="${RUNS:-20}" QUEUED="${QUEUED:-100}"
export BENCH_PG_URL="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"

python3 - <<'EOF'
import datetime, json, os, shutil, socket, statistics, subprocess, tempfile, time, urllib.request, urllib.error

BIN = os.environ["BENCH_BIN"]
RUNS = int(os.environ["RUNS"])
QUEUED = int(os.environ["QUEUED"])
TARGET = "tenant-abc123"

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port

def call(method, url, token, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")

def wait_ready(base):
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{base} did not become ready")

def token(data_dir):
    return subprocess.check_output([BIN, "token", "--data-dir", data_dir, "--tenant", "*",
                                    "--email", "bench@company.com"], text=True).strip()

def serve(args, log):
    return subprocess.Popen([BIN, "serve", *args], stdout=subprocess.DEVNULL, stderr=log,
                            env={**os.environ, "INSTALLHUB_LOG": "warn"})

def follow(base, tok, status_url):
    while True:
        _, body = call("GET", base + status_url, tok)
        if body["status"] != "InProgress":
            return body
        time.sleep(0.02)

BIG = int(os.environ.get("BIG", "99"))

def install_seconds(base, tok, listing, body):
    """From sending the install to the server's completedAt (same clock):
    the poll interval is not counted."""
    start = datetime.datetime.now(datetime.timezone.utc)
    status, accepted = call("POST", base + f"/api/marketplace/packages/{listing}/install", tok, body)
    assert status == 202, accepted
    done = follow(base, tok, accepted["statusUrl"])
    assert done["status"] == "Success", done
    end = datetime.datetime.fromisoformat(done["completedAt"].replace("Z", "+00:00"))
    return (end - start).total_seconds(), accepted

def compare(base, tok, listing, body, label):
    """RUNS direct imports of the listing's bundle and RUNS marketplace
    installs of it, interleaved; prints both medians and their ratio."""
    _, shown = call("GET", base + f"/api/marketplace/packages/{listing}", tok)
    version = shown["versions"][0]
    with urllib.request.urlopen(base + version["bundleUrl"]) as r:
        bundle = r.read()
    options = json.dumps({"targetTenantId": TARGET, "defaultConflictStrategy": "Replace"})
    boundary = "benchboundary7d1f"
    form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"package\"; filename=\"p.zip\"\r\n"
            f"Content-Type: application/zip\r\n\r\n").encode() + bundle + (
            f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"options\"\r\n"
            f"Content-Type: application/json\r\n\r\n{options}\r\n--{boundary}--\r\n").encode()
    direct, market = [], []
    for i in range(RUNS):
        t = time.perf_counter()
        req = urllib.request.Request(base + "/api/installhub/packages/import", data=form, method="POST")
        req.add_header("Authorization", f"Bearer {tok}")
        req.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
        with urllib.request.urlopen(req, timeout=120) as r:
            assert r.status == 200
            r.read()
        direct.append(time.perf_counter() - t)
        seconds, accepted = install_seconds(base, tok, listing, body)
        market.append(seconds)
    d, m = statistics.median(direct), statistics.median(market)
    print(f"{label}: {version['sizeBytes']} bytes")
    print(f"  direct import of the bundle (median of {RUNS}): {d * 1000:.1f} ms")
    print(f"  marketplace install (median, request to completedAt): {m * 1000:.1f} ms")
    print(f"  ratio install/import: {m / d:.2f}")
    return accepted

def publish_big(base, tok):
    """A listing of BIG schemas of about 30 KB each and an app that uses
    them all, exported from the demo's source tenant and published."""
    source = "tenant-7f3a9b12"
    refs = []
    for i in range(BIG):
        aid = f"schema-bench-{i:04d}"
        fields = [{"name": f"field{f}", "type": "text", "label": f"Field {f} of schema {i}"} for f in range(500)]
        status, reply = call("PUT", base + f"/api/installhub/tenants/{source}/artifacts/{aid}", tok,
                             {"type": "EntitySchema", "name": f"Bench schema {i}", "version": "1.0.0",
                              "status": "Published", "definition": {"fields": fields}})
        assert status in (200, 201), reply
        refs.append({"artifactId": aid, "tenantId": source})
    status, reply = call("PUT", base + f"/api/installhub/tenants/{source}/artifacts/app-bench", tok,
                         {"type": "AppDefinition", "name": "Bench app", "version": "1.0.0",
                          "status": "Active", "definition": {}, "references": refs})
    assert status in (200, 201), reply
    status, package = call("POST", base + "/api/installhub/packages/export", tok, {
        "tenantId": source, "artifactIds": ["app-bench"], "packageName": "Bench Suite",
        "version": "1.0.0", "packageType": "app-package"})
    assert status in (200, 201), str(package)[:300]
    status, listing = call("POST", base + "/api/marketplace/packages", tok, {
        "sourcePackageId": package["packageId"], "summary": "A large package for the benchmark.",
        "publisher": "Bench"})
    assert status == 201, str(listing)[:300]
    return listing["packageId"]

work = tempfile.mkdtemp()
try:
    # 1. One server: install vs direct import.
    port = free_port(); base = f"http://127.0.0.1:{port}"
    data = os.path.join(work, "one")
    log = open(os.path.join(work, "one.log"), "w")
    server = serve(["--demo", "--listen", f"127.0.0.1:{port}", "--data-dir", data], log)
    try:
        wait_ready(base)
        tok = token(data)
        # The demo publishes its listing after it starts serving.
        for _ in range(100):
            status, found = call("GET", base + "/api/marketplace/packages?q=Employee", tok)
            if found["packages"]:
                break
            time.sleep(0.1)
        listing = found["packages"][0]["packageId"]
        body = {"targetTenantId": TARGET, "defaultConflictStrategy": "Replace",
                "acknowledgeCommunityPackage": True}
        accepted = compare(base, tok, listing, body, "the demo's package")
        big = publish_big(base, tok)
        compare(base, tok, big, body, f"{BIG} schemas and an app")
        # Status polling: sequential requests per second on one connection's worth of work.
        status_url = accepted["statusUrl"]
        n, t = 0, time.perf_counter()
        while time.perf_counter() - t < 3:
            call("GET", base + status_url, tok); n += 1
        print(f"status polls (one sequential Python client, its own overhead included): {n / (time.perf_counter() - t):.0f} requests/s")
    finally:
        server.terminate(); server.wait()

    # 2. Two replicas on PostgreSQL.
    admin = os.environ["BENCH_PG_URL"]
    dbname = f"bench_{os.getpid()}"
    created = subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {dbname}"],
                             capture_output=True, text=True)
    if created.returncode != 0:
        print(f"replicas: skipped (PostgreSQL at {admin}: {created.stderr.strip()})")
    else:
        url = admin.rsplit("/", 1)[0] + "/" + dbname
        shared = os.path.join(work, "shared"); os.makedirs(shared)
        bundles = os.path.join(shared, "bundles")
        # The first replica makes the signing key; the second is given it.
        # Both trust the first server's token key (a copy of its key pair).
        replicas, bases = [], []
        try:
            for i in range(2):
                port = free_port(); bases.append(f"http://127.0.0.1:{port}")
                data = os.path.join(work, f"replica-{i}")
                shutil.copytree(os.path.join(work, "one", "keys"), os.path.join(data, "keys"))
                args = ["--listen", f"127.0.0.1:{port}", "--data-dir", data, "--database-url", url,
                        "--bundle-store", bundles, "--instance-id", f"replica-{i}"]
                if i == 0:
                    args.append("--demo")
                else:
                    args += ["--publichub-signing-key", os.path.join(work, "replica-0", "publichub-ed25519.pem")]
                replicas.append(serve(args, open(os.path.join(work, f"replica-{i}.log"), "w")))
                wait_ready(bases[i])
            tok = token(os.path.join(work, "one"))
            for _ in range(100):
                _, found = call("GET", bases[0] + "/api/marketplace/packages?q=Employee", tok)
                if found["packages"]:
                    break
                time.sleep(0.1)
            listing = found["packages"][0]["packageId"]
            t = time.perf_counter()
            urls = []
            for i in range(QUEUED):
                status, accepted = call("POST", bases[i % 2] + f"/api/marketplace/packages/{listing}/install", tok, body)
                assert status == 202, accepted
                urls.append(accepted["statusUrl"])
            queued = time.perf_counter() - t
            for i, u in enumerate(urls):
                done = follow(bases[(i + 1) % 2], tok, u)
                assert done["status"] == "Success", done
            total = time.perf_counter() - t
            print(f"replicas: {QUEUED} installs queued in {queued:.2f} s, all Success after {total:.2f} s "
                  f"({QUEUED / total:.1f} installs/s on two replicas, one tenant, 2 workers each)")
        finally:
            for r in replicas:
                r.terminate(); r.wait()
            subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)"],
                           capture_output=True)
finally:
    shutil.rmtree(work, ignore_errors=True)
EOF
