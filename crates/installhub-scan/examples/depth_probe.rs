//! Measures the stack the code analysis needs per level of recursion, for
//! the constant `STACK_PER_TOKEN` in `src/code/mod.rs`.
//!
//! `depth_probe LEVELS SHAPE STACK_KIB` scans one `script` field holding
//! LEVELS repetitions of SHAPE (`not`: `!!!x`, `plus`: `"a"+"a"+…`,
//! `assign`: `a=a=…`, `ternary`: `a?b:a?b:…`, `pyif`: Python's
//! `a if b else …`, `arrow`: `a=>a=>…`, `new`: `new new X`) on a thread with
//! STACK_KIB KiB of stack, and prints the verdict. Binary-search STACK_KIB
//! for the smallest that does not overflow; the scan grows its own stack,
//! so with it in place every size passes.

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(levels), Some(shape), Some(kib)) = (args.next(), args.next(), args.next()) else {
        eprintln!("usage: depth_probe LEVELS SHAPE STACK_KIB");
        std::process::exit(2);
    };
    let levels: usize = levels.parse().expect("LEVELS is a number");
    let kib: usize = kib.parse().expect("STACK_KIB is a number");
    let unit = match shape.as_str() {
        "not" => "!",
        "plus" => "\"a\"+",
        "assign" => "a=",
        "ternary" => "a?b:",
        "pyif" => "a if b else ",
        "arrow" => "a=>",
        "new" => "new ",
        other => panic!("unknown shape {other}"),
    };
    let definition = serde_json::json!({ "script": unit.repeat(levels) + "x" });
    let scanner = installhub_scan::Scanner::new(installhub_scan::AdvisoryDb::empty());
    let verdict = std::thread::Builder::new()
        .stack_size(kib << 10)
        .spawn(move || {
            scanner
                .scan([installhub_scan::ScanInput {
                    artifact_id: "a",
                    definition: &definition,
                    libraries: &[],
                }])
                .result
        })
        .expect("a thread starts")
        .join()
        .expect("the scan returns");
    println!("{verdict:?}");
}
