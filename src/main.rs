fn main() -> std::process::ExitCode {
    vmctl::run()
}
