-- wrk.lua with a think time: after each reply a connection waits before its
-- next request, like a client that does something with the answer. The waits
-- are exponentially distributed around a mean (args[7], in ms), so requests
-- arrive unevenly, as real traffic does, and connections do not march in step.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "wrk.lua")

local base_init = init
function init(args)
  base_init(args)
  think_ms = tonumber(args[7]) or 0
  math.randomseed(os.time() + id * 7919)
end

function delay()
  return math.floor(-think_ms * math.log(1 - math.random()))
end
