/// mimalloc in the kernel's process, the system allocator in the cell
/// process (see `allocator`).
#[global_allocator]
static ALLOCATOR: asyncbook_kernel::allocator::KernelAllocator =
    asyncbook_kernel::allocator::KernelAllocator;

fn main() -> std::process::ExitCode {
    asyncbook_kernel::main()
}
