fn main() {
    nsexec::nsexec();
}
