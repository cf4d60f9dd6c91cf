-- wrk script of the `session` scenario (bench/session.mjs): every request carries one of the
-- session cookies given after `--`, in turn, so each request reads and writes a session that
-- exists. More sessions than connections: two requests in flight never share one.
local cookies = {}
local i = 0

function init(args)
  for _, c in ipairs(args) do cookies[#cookies + 1] = c end
end

function request()
  i = i % #cookies + 1
  return wrk.format(nil, nil, { Cookie = cookies[i] })
end
