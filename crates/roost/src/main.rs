//! The `roost` binary: picks the subcommand and hands over to the crate that does the work.

use std::process::ExitCode;

const USAGE: &str = "Usage: roost [server] [/path/to/redis.conf] [--directive value ...]
       roost server --port 6380 --threads 1
       roost proxy -c nutcracker.yml [nutcracker's options; roost proxy -h lists them]
       roost bench [-h host] [-p port] [-c clients] [-n requests] [-t tests] ... (roost bench --help)
       roost check-aof [--fix] <appendonly.aof.manifest|file.aof>
       roost check-rdb <dump.rdb>
       roost --version | -v
       roost --help | -h";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("-v") | Some("--version") => {
            println!(
                "Roost server v={} (Redis {} compatible) bits=64",
                env!("CARGO_PKG_VERSION"),
                roost_config::REDIS_VERSION
            );
            return ExitCode::SUCCESS;
        }
        Some("-h") | Some("--help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some("server") => {
            args.remove(0);
        }
        Some("proxy") => return roost_proxy::cli_main(&args[1..]),
        Some("bench") => return roost_bench::cli_main(&args[1..]),
        Some("check-aof") => return roost_server::aof::load::check_main(&args[1..]),
        Some("check-rdb") => return roost_server::persist::check_rdb_main(&args[1..]),
        _ => {}
    }
    let config = match roost_config::Config::from_args_checked(&args, &roost_server::is_command) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{}", e.message);
            return ExitCode::FAILURE;
        }
    };
    match roost_server::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

#[global_allocator]
static ALLOCATOR: roost_server::alloc::CountingAllocator = roost_server::alloc::CountingAllocator;
