//! The README's first promise: `installhub serve --demo` prints commands
//! that work exactly as printed. Starts the real binary, takes what it
//! printed from `export INSTALLHUB_URL=` on, and runs it with `bash -e`.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_installhub");

#[test]
fn the_demo_commands_work_as_printed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    let work = dir.path().join("first");
    let stdout = run_demo(&data, &work);
    assert!(
        stdout.contains(r#""status":"Success","artifactsInstalled":5"#),
        "{stdout}"
    );
    assert!(
        stdout.contains("Dry run of Employee Onboarding Suite 2.1.0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Employee Onboarding Suite 2.1.0: PASS"),
        "{stdout}"
    );
    assert!(work.join("employee-onboarding-suite-2.1.2.zip").is_file());
    // The marketplace: the demo's listing, its keys, an install queued and
    // followed.
    assert!(stdout.contains(r#""trustLevel":"Community""#), "{stdout}");
    assert!(stdout.contains(r#""kty":"OKP""#), "{stdout}");
    assert!(stdout.contains(r#""installId":"mkt-install-"#), "{stdout}");
    assert!(
        stdout.contains(r#""status":"InProgress""#)
            || stdout.contains(r#""status":"Success","importId""#),
        "{stdout}"
    );

    // The second time, on the same data: the versions the first run
    // exported are taken, so the commands name the next free ones.
    let work = dir.path().join("second");
    let stdout = run_demo(&data, &work);
    assert!(stdout.contains(r#""status":"Success""#), "{stdout}");
    assert!(
        stdout.contains("Employee Onboarding Suite 2.1.3: PASS"),
        "{stdout}"
    );
    assert!(work.join("employee-onboarding-suite-2.1.5.zip").is_file());
    // The first run's listing is found again (a second publish of its
    // version would have failed the demo) and shown.
    assert_eq!(
        stdout.matches(r#""trustLevel":"Community""#).count(),
        2,
        "{stdout}"
    );
}

/// Starts `serve --demo` on `data`, runs what it printed from
/// `export INSTALLHUB_URL=` on with `bash -e` in the new directory `work`,
/// stops the server and answers the commands' output.
fn run_demo(data: &std::path::Path, work: &std::path::Path) -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(BIN)
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data)
        .env_remove("INSTALLHUB_URL")
        .env_remove("INSTALLHUB_TOKEN")
        .env_remove("INSTALLHUB_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // The instructions end with the marketplace install's status line.
    let mut printed = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        let done = line.contains("statusUrl");
        printed.push_str(&line);
        printed.push('\n');
        if done {
            break;
        }
    }
    let script = &printed[printed
        .find("export INSTALLHUB_URL=")
        .unwrap_or_else(|| panic!("no instructions in:\n{printed}"))..];

    std::fs::create_dir(work).unwrap();
    let run = Command::new("bash")
        .args(["-e", "-c", script])
        .current_dir(work)
        .env_remove("INSTALLHUB_URL")
        .env_remove("INSTALLHUB_TOKEN")
        .output()
        .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "the printed commands failed:\n{script}\n--- stdout\n{stdout}\n--- stderr\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    stdout
}
