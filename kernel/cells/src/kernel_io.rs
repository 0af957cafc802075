//! How the cell process talks to the kernel that reads its output, or to
//! the terminal when it runs as an ordinary program.

/// Set by the kernel in the environment of the process that runs cells
/// (the kernel's `engine::relay::SOCKET_ENV`). Without it the library serves
/// an ordinary program, such as one made by `asyncbook export`: displays are
/// printed as text and input is read from stdin.
const KERNEL_ENV: &str = "ASYNCBOOK_OUTPUT_SOCKET";

/// Whether a kernel reads this process's output.
pub(crate) fn in_kernel() -> bool {
    static IN_KERNEL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *IN_KERNEL.get_or_init(|| std::env::var_os(KERNEL_ENV).is_some())
}

/// Prints `text` as a line of the program's stdout, outside a kernel.
pub(crate) fn print_line(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// Writes one line of the cell process's protocol with the kernel (a display,
/// an input request, a panic report ...) to stdout, whole and flushed, so
/// the kernel's relay sees it in order with the cell's own output.
pub(crate) fn tell_kernel(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
