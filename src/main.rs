mod cgroups;
fn main() {
    nsexec::nsexec();
}
