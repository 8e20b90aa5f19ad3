//! The `simrelay` binary; everything lives in the library.

fn main() -> std::process::ExitCode {
    simrelay::cli::run()
}
