mod hooks;
mod security;

fn main() {
    nsexec::nsexec();
}
