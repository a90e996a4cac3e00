-- Builds the scripting environment: protected globals, read-only library tables, the `redis`
-- table for scripts and the one library code sees while FUNCTION LOAD runs it.
-- Receives the raw helpers implemented in Rust; returns what the engine keeps.
local raw = ...
local G = _G
local rawget, rawset, setmetatable, type, error, select, unpack, pairs, tostring =
    rawget, rawset, setmetatable, type, error, select, unpack, pairs, tostring
local rawpcall, rawxpcall = pcall, xpcall

local function fail(msg)
    error({ err = 'ERR ' .. msg }, 0)
end

local function readonly_error()
    error('Attempt to modify a readonly table', 2)
end

local function missing_global(_, name)
    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
end

-- Read-only views and what they show: iteration and raw writes see through them.
local views = setmetatable({}, { __mode = 'k' })
-- What getmetatable shows of protected tables: itself read-only.
local shared_meta = setmetatable({}, { __newindex = readonly_error, __metatable = false })

-- A read-only view of `t`; a lookup that misses either yields nil or, with `strict`, fails like
-- an undefined global.
local function readonly(t, strict)
    local mt = { __newindex = readonly_error, __metatable = shared_meta }
    if strict then
        mt.__index = function(_, k)
            local v = rawget(t, k)
            if v == nil then
                error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
            end
            return v
        end
    else
        mt.__index = t
    end
    local view = setmetatable({}, mt)
    views[view] = t
    return view
end

local rawnext, rawipairs, rawsetmetatable = next, ipairs, setmetatable
local function readonly_raw()
    error('Attempt to modify a readonly table', 0)
end
rawset(G, 'next', function(t, k)
    return rawnext(views[t] or t, k)
end)
rawset(G, 'pairs', function(t)
    return G.next, t, nil
end)
rawset(G, 'ipairs', function(t)
    return rawipairs(views[t] or t)
end)
rawset(G, 'rawset', function(t, k, v)
    if views[t] or t == G then
        readonly_raw()
    end
    return rawset(t, k, v)
end)
rawset(G, 'setmetatable', function(t, mt)
    if views[t] or t == G then
        readonly_raw()
    end
    return rawsetmetatable(t, mt)
end)

-- Redis 7.0 scripts see neither of these.
for _, name in pairs({ 'io', 'os', 'debug', 'package', 'require', 'module', 'loadfile', 'dofile', 'print',
    'setfenv', 'getfenv', 'newproxy' }) do
    rawset(G, name, nil)
end
-- Precompiled chunks are refused: only source text may be loaded. Wrapped as C functions (see
-- the engine) so argument errors name the script's line, as Lua's own functions do.
local rawloadstring, rawload, concat = loadstring, load, table.concat
local function bad_argument(fname, want, got)
    error("bad argument #1 to '" .. fname .. "' (" .. want .. ' expected, got ' .. got .. ')', 4)
end
rawset(G, 'loadstring', raw.cwrap(function(s, name)
    if type(s) ~= 'string' and type(s) ~= 'number' then
        bad_argument('loadstring', 'string', s == nil and 'no value' or type(s))
    end
    s = tostring(s)
    if s:byte(1) == 27 then
        return nil, 'binary chunks are not allowed'
    end
    return rawloadstring(s, name)
end))
rawset(G, 'load', raw.cwrap(function(reader, name)
    if type(reader) ~= 'function' then
        bad_argument('load', 'function', reader == nil and 'no value' or type(reader))
    end
    local parts = {}
    while true do
        local piece = reader()
        if piece == nil or piece == '' then
            break
        end
        if type(piece) ~= 'string' then
            return nil, 'reader function must return a string'
        end
        parts[#parts + 1] = piece
    end
    local text = concat(parts)
    if text:byte(1) == 27 then
        return nil, 'binary chunks are not allowed'
    end
    return rawloadstring(text, name or '=(load)')
end))

-- A failed pcall hands back the message of an error table rather than the table; after SCRIPT
-- KILL nothing may swallow the kill.
local function pack(...)
    return { n = select('#', ...), ... }
end
rawset(G, 'pcall', function(...)
    local r = pack(rawpcall(...))
    if raw.killed() then
        error('Script killed by user', 0)
    end
    if not r[1] and type(r[2]) == 'table' and r[2].err ~= nil then
        r[2] = r[2].err
    end
    return unpack(r, 1, r.n)
end)
rawset(G, 'xpcall', function(...)
    local r = pack(rawxpcall(...))
    if raw.killed() then
        error('Script killed by user', 0)
    end
    return unpack(r, 1, r.n)
end)


local redis = {}
local rawcall = raw.call
redis.call = function(...)
    local ok, v = rawcall(...)
    if ok then
        return v
    end
    error(v, 0)
end
redis.pcall = function(...)
    local _, v = rawcall(...)
    return v
end

-- An error reply's text: a leading '-' is dropped and a message without a code gets ERR.
local function error_text(s)
    if s:sub(1, 1) == '-' then
        s = s:sub(2)
    end
    if not s:find(' ', 1, true) then
        return 'ERR ' .. s
    end
    return s
end

redis.error_reply = function(...)
    local s = ...
    if select('#', ...) ~= 1 or type(s) ~= 'string' then
        return { err = 'ERR wrong number or type of arguments' }
    end
    return { err = error_text(s) }
end
redis.status_reply = function(...)
    local s = ...
    if select('#', ...) ~= 1 or type(s) ~= 'string' then
        return { err = 'ERR wrong number or type of arguments' }
    end
    return { ok = s }
end
redis.sha1hex = function(...)
    local s = ...
    if select('#', ...) ~= 1 then
        fail('wrong number of arguments')
    end
    if type(s) ~= 'string' and type(s) ~= 'number' then
        s = ''
    end
    return raw.sha1hex(tostring(s))
end

local function log(...)
    local n = select('#', ...)
    if n < 2 then
        fail('redis.log() requires two arguments or more.')
    end
    local level = ...
    if type(level) ~= 'number' then
        fail('First argument must be a number (log level).')
    end
    if level < 0 or level > 3 then
        fail('Invalid debug level.')
    end
    local parts = {}
    for i = 2, n do
        local v = select(i, ...)
        if type(v) == 'string' or type(v) == 'number' then
            parts[#parts + 1] = tostring(v)
        end
    end
    raw.log(level, table.concat(parts, ' '))
end
redis.log = log
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3

redis.setresp = function(...)
    local n = select('#', ...)
    if n ~= 1 then
        fail('redis.setresp() requires one argument.')
    end
    local v = tonumber((...))
    if v ~= 2 and v ~= 3 then
        fail('RESP version must be 2 or 3.')
    end
    raw.setresp(v)
end

redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.set_repl = function(...)
    if select('#', ...) ~= 1 then
        fail('redis.set_repl() requires two arguments.')
    end
    local flags = ...
    if type(flags) ~= 'number' or flags < 0 or flags > 3 or flags % 1 ~= 0 then
        fail('Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.')
    end
end
-- Without ACL users every command is permitted; only its existence is checked.
redis.acl_check_cmd = function(...)
    if select('#', ...) < 1 then
        fail('Please specify at least one argument for this redis lib call')
    end
    local name = ...
    if type(name) ~= 'string' or not raw.command_exists(name) then
        fail('Invalid command passed to redis.acl_check_cmd()')
    end
    return true
end
redis.replicate_commands = function()
    return true
end
redis.breakpoint = function()
    return false
end
redis.debug = function() end
redis.REDIS_VERSION = raw.version
redis.REDIS_VERSION_NUM = raw.version_num

-- FUNCTION LOAD: what library code sees while it runs.
local function register_function(...)
    local n = select('#', ...)
    local name, callback, flags, description
    if n == 1 then
        local t = ...
        if type(t) ~= 'table' then
            fail('calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).')
        end
        for k, v in pairs(t) do
            if k == 'function_name' then
                name = v
            elseif k == 'callback' then
                callback = v
            elseif k == 'flags' then
                flags = v
            elseif k == 'description' then
                description = v
            else
                fail('unknown argument given to redis.register_function')
            end
        end
    elseif n == 2 then
        name, callback = ...
        if type(name) ~= 'string' and type(name) ~= 'number' then
            fail('first argument to redis.register_function must be a string')
        end
        if type(callback) ~= 'function' then
            fail('second argument to redis.register_function must be a function')
        end
    else
        fail('wrong number of arguments to redis.register_function')
    end
    if name == nil then
        fail('redis.register_function must get a function name argument')
    end
    if type(name) ~= 'string' and type(name) ~= 'number' then
        fail('function_name argument given to redis.register_function must be a string')
    end
    name = tostring(name)
    if callback == nil then
        fail('redis.register_function must get a callback argument')
    end
    if type(callback) ~= 'function' then
        fail('callback argument given to redis.register_function must be a function')
    end
    if description ~= nil then
        if type(description) ~= 'string' and type(description) ~= 'number' then
            fail('description argument given to redis.register_function must be a string')
        end
        description = tostring(description)
    end
    local names = {}
    if flags ~= nil then
        if type(flags) ~= 'table' then
            fail('flags argument to redis.register_function must be a table representing function flags')
        end
        for i = 1, #flags do
            if type(flags[i]) ~= 'string' then
                fail('unknown flag given')
            end
            names[#names + 1] = flags[i]
        end
    end
    local problem = raw.register(name, callback, names, description)
    if problem then
        error({ err = problem }, 0)
    end
end

local loader_redis = {
    register_function = raw.cwrap(register_function),
    log = raw.cwrap(log),
    LOG_DEBUG = 0,
    LOG_VERBOSE = 1,
    LOG_NOTICE = 2,
    LOG_WARNING = 3,
    REDIS_VERSION = raw.version,
    REDIS_VERSION_NUM = raw.version_num,
}
local loader_env = setmetatable({ redis = readonly(loader_redis, true) }, {
    __index = missing_global,
    __newindex = readonly_error,
    __metatable = false,
})

-- Library tables are read-only to scripts.
for _, name in pairs({ 'string', 'math', 'table', 'coroutine', 'cjson', 'cmsgpack', 'bit', 'struct' }) do
    local t = rawget(G, name)
    if type(t) == 'table' then
        rawset(G, name, readonly(t, false))
    end
end
-- The API's functions behave as C functions do (see the engine's wrapper).
for k, v in pairs(redis) do
    if type(v) == 'function' then
        redis[k] = raw.cwrap(v)
    end
end
rawset(G, 'redis', readonly(redis, false))
-- Methods on strings reach the same (read-only) string table scripts see, and the strings'
-- metatable is shown read-only.
local string_meta = getmetatable('')
string_meta.__index = rawget(G, 'string')
string_meta.__metatable = readonly(string_meta, false)

-- Scripts run with `script_env`: reads reach the globals (a miss is an error), writes fail.
local script_env = setmetatable({}, { __index = G, __newindex = readonly_error, __metatable = shared_meta })
views[script_env] = G
rawset(G, '_G', script_env)
setmetatable(G, { __index = missing_global, __newindex = readonly_error, __metatable = shared_meta })

-- Library code runs with `library_env`, which shows the loader's view during FUNCTION LOAD and
-- the script globals afterwards (so helpers defined at load time work when called).
local library_meta = { __index = loader_env, __newindex = readonly_error, __metatable = false }
local library_env = setmetatable({}, library_meta)
local function set_loading(on)
    if on then
        library_meta.__index = loader_env
    else
        library_meta.__index = script_env
    end
end
set_loading(false)

-- Runs `f` with the given arguments under the error handler; returns ok and the value.
local handler = raw.handler
rawset(G, '__redis__err__handler', handler)
local function run(f, ...)
    local args = pack(...)
    return rawxpcall(function()
        return f(unpack(args, 1, args.n))
    end, handler)
end

return {
    run = run,
    script_env = script_env,
    library_env = library_env,
    set_loading = set_loading,
    globals = G,
}
