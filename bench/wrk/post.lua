-- wrk script for bench/wrk.ts when a variant sends a body: every request is a POST of
-- HFI_BENCH_BODY_BYTES bytes ("x" repeated, wrk adds Content-Length), then json.lua's summary.
-- Sets the request at load and defines no `request`, so wrk still formats it once (no per-request Lua).
local bytes = tonumber(os.getenv("HFI_BENCH_BODY_BYTES"))
if not bytes then error("HFI_BENCH_BODY_BYTES is not set") end
wrk.method = "POST"
wrk.body = string.rep("x", bytes)
wrk.headers["Content-Type"] = "application/octet-stream"
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "json.lua")
