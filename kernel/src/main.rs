fn main() -> std::process::ExitCode {
    asyncbook_kernel::main()
}
