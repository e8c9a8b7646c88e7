//! The `vmctl` binary: runs the library's command line and exits with its code.

fn main() -> std::process::ExitCode {
    vmctl::run()
}
