-- wrk cannot compute HMACs, so it cycles through pre-signed requests read from a file:
--   wrk -t2 -c64 -d10s -s bench/wrk_signed.lua URL -- requests.tsv 2
-- Each line is "<X-Hub-Signature-256>\t<body>". Thread k sends lines k, k+T, k+2T, ... so that
-- no two threads send the same message.
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  local path, threads = args[1], tonumber(args[2])
  requests = {}
  local index = 0
  for line in io.lines(path) do
    if index % threads == id then
      local sig, body = line:match("^([^\t]+)\t(.*)$")
      requests[#requests + 1] = wrk.format("POST", nil,
        {["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = sig}, body)
    end
    index = index + 1
  end
  position = 0
end

function request()
  position = position + 1
  if position > #requests then
    position = 1  -- wrapped: the server sees redeliveries from here on
  end
  return requests[position]
end
