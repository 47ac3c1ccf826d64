//! Command output on stdout. `print!` panics when stdout is a pipe whose
//! reader has gone (`installhub scan FILE | head -1`); [`out!`] and
//! [`outln!`] end the program quietly instead, with success, as a reader
//! that stopped early expects. Any other write error (a full disk behind
//! `> file`) is reported and fails the command: output that was asked for
//! and not written is a failure.
//!
//! Written by hand: the standard library only offers the panicking macros,
//! and the switch to the default SIGPIPE action that C programs rely on
//! would also apply to the service's own pipes.

use std::fmt::Arguments;
use std::io::{ErrorKind, Write};

/// Prints to stdout like `print!`; see the module.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::out::write(&mut ::std::io::stdout(), format_args!($($arg)*))
    };
}

/// Prints a line to stdout like `println!`; see the module.
macro_rules! outln {
    () => {
        $crate::out::write(&mut ::std::io::stdout(), format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::out::write(&mut ::std::io::stdout(), format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Writes and flushes `args`; a closed pipe ends the program with success,
/// any other error with failure.
pub fn write(stdout: &mut impl Write, args: Arguments<'_>) {
    let result = stdout.write_fmt(args).and_then(|()| stdout.flush());
    match result {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            eprintln!("error: cannot write to standard output: {e}");
            std::process::exit(1);
        }
    }
}
