//! CLIENT TRACKING, CLIENT CACHING, CLIENT GETREDIR and CLIENT TRACKINGINFO: the commands of
//! server-assisted client-side caching (the state and the messages live in `crate::tracking`).

use std::sync::atomic::Ordering;

use roost_resp::Args;

use super::{is, parse_int};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::tracking::{self, Options};

/// CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]
pub fn tracking(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut options = Options::default();
    // Options are read (and the redirection checked) before ON/OFF is looked at, so their
    // errors come first, as in Redis.
    let mut i = 3;
    while i < args.len() {
        let opt = args.get(i);
        let more = i + 1 < args.len();
        if is(opt, "redirect") && more {
            i += 1;
            if options.redirect != 0 {
                return Err(CmdError::msg("ERR A client can only redirect to a single other client"));
            }
            let id = parse_int(args.get(i))?;
            let target = u64::try_from(id)
                .ok()
                .and_then(|id| ctx.server.client(id))
                .filter(|h| !h.killed.load(Ordering::Acquire))
                .ok_or_else(|| CmdError::msg("ERR The client ID you want redirect to does not exist"))?;
            options.redirect = target.id;
            options.redirect_to = Some(target);
        } else if is(opt, "bcast") {
            options.bcast = true;
        } else if is(opt, "optin") {
            options.optin = true;
        } else if is(opt, "optout") {
            options.optout = true;
        } else if is(opt, "noloop") {
            options.noloop = true;
        } else if is(opt, "prefix") && more {
            i += 1;
            options.prefixes.push(args.get(i));
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let switch = args.get(2);
    if is(switch, "on") {
        check_on(ctx, &options)?;
        tracking::enable(ctx, options);
    } else if is(switch, "off") {
        tracking::disable(ctx.server, ctx.handle, ctx.client);
    } else {
        return Err(CmdError::Syntax);
    }
    ctx.reply.ok();
    Ok(())
}

/// The checks before tracking is turned on or changed, in Redis's order.
fn check_on(ctx: &Ctx, o: &Options) -> CmdResult {
    let (on, bcast, optin, optout) = tracking::current(ctx);
    if !o.bcast && !o.prefixes.is_empty() {
        return Err(CmdError::msg("ERR PREFIX option requires BCAST mode to be enabled"));
    }
    if on && bcast != o.bcast {
        return Err(CmdError::msg(
            "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
        ));
    }
    if o.bcast && (o.optin || o.optout) {
        return Err(CmdError::msg("ERR OPTIN and OPTOUT are not compatible with BCAST"));
    }
    if o.optin && o.optout {
        return Err(CmdError::msg("ERR You can't specify both OPTIN mode and OPTOUT mode"));
    }
    if (o.optin && optout) || (o.optout && optin) {
        return Err(CmdError::msg(
            "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.",
        ));
    }
    if o.bcast {
        tracking::check_prefixes(ctx.handle, &o.prefixes).map_err(CmdError::msg)?;
    }
    Ok(())
}

/// CLIENT CACHING YES|NO
pub fn caching(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let not_tracking = || {
        CmdError::msg(
            "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        )
    };
    let value = args.get(2);
    if is(value, "yes") {
        match tracking::caching_allowed(ctx, true) {
            None => return Err(not_tracking()),
            Some(false) => {
                return Err(CmdError::msg(
                    "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
                ))
            }
            Some(true) => {}
        }
    } else if is(value, "no") {
        match tracking::caching_allowed(ctx, false) {
            None => return Err(not_tracking()),
            Some(false) => {
                return Err(CmdError::msg(
                    "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
                ))
            }
            Some(true) => {}
        }
    } else if tracking::current(ctx).0 {
        return Err(CmdError::Syntax);
    } else {
        return Err(not_tracking());
    }
    tracking::set_caching(ctx);
    ctx.reply.ok();
    Ok(())
}

/// CLIENT GETREDIR
pub fn getredir(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let id = tracking::redirect(ctx);
    ctx.reply.int(id);
    Ok(())
}

/// CLIENT TRACKINGINFO
pub fn trackinginfo(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let info = tracking::info(ctx);
    let r = &mut *ctx.reply;
    r.map(3);
    r.bulk(b"flags");
    r.set(info.flags.len());
    for f in &info.flags {
        r.bulk(f.as_bytes());
    }
    r.bulk(b"redirect");
    r.int(info.redirect);
    r.bulk(b"prefixes");
    r.array(info.prefixes.len());
    for p in &info.prefixes {
        r.bulk(p);
    }
    Ok(())
}
