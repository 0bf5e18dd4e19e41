mod config {
    pub mod yaml;
}
fn main() {}
