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
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(BIN)
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env_remove("INSTALLHUB_URL")
        .env_remove("INSTALLHUB_TOKEN")
        .env_remove("INSTALLHUB_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // The instructions end with the CLI download line.
    let mut printed = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        let done = line.contains(" download $(");
        printed.push_str(&line);
        printed.push('\n');
        if done {
            break;
        }
    }
    let script = &printed[printed
        .find("export INSTALLHUB_URL=")
        .unwrap_or_else(|| panic!("no instructions in:\n{printed}"))..];

    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let run = Command::new("bash")
        .args(["-e", "-c", script])
        .current_dir(&work)
        .env_remove("INSTALLHUB_URL")
        .env_remove("INSTALLHUB_TOKEN")
        .output()
        .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "the printed commands failed:\n{script}\n--- stdout\n{stdout}\n--- stderr\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
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
}
