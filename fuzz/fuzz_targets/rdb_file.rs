//! Built by `cargo fuzz` as a libFuzzer target; with `--no-default-features`, a plain
//! binary that runs the same check over the files it is given.
#![cfg_attr(feature = "libfuzzer", no_main)]

#[cfg(feature = "libfuzzer")]
libfuzzer_sys::fuzz_target!(|data: &[u8]| roost_fuzz::rdb_file(data));

#[cfg(not(feature = "libfuzzer"))]
fn main() {
    roost_fuzz::replay(roost_fuzz::rdb_file);
}
