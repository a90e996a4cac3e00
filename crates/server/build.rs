// Redis computes INCRBYFLOAT/HINCRBYFLOAT in C's `long double` and prints with "%.17Lf"; Rust has
// no 80-bit float, so that arithmetic is done by the C compiler to give the same digits.
fn main() {
    println!("cargo:rerun-if-changed=csrc/longdouble.c");
    cc::Build::new().file("csrc/longdouble.c").opt_level(2).compile("roost_longdouble");
}
