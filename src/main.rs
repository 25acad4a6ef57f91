mod rootfs;

fn main() {
    nsexec::nsexec();
}
