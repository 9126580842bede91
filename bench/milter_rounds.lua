-- miltertest script for bench/flow.sh: sends every mail listed in the file
-- LIST (one path a line) ROUNDS times to the milter at SOCK, one milter
-- connection per mail as Postfix makes it, and prints "mails: N". The
-- caller times the run.
local function try(what, f, ...)
  local ok, r = pcall(f, ...)
  if not ok then error(what .. " failed: " .. tostring(r)) end
  return r
end

local mails = {}
for path in io.lines(LIST) do
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  local sep = data:find("\r?\n\r?\n")
  local head, body = data:sub(1, sep), data:sub(sep):gsub("^\r?\n\r?\n", "")
  head = head:gsub("\r?\n[ \t]+", " ")
  local hs = {}
  for line in head:gmatch("[^\r\n]+") do
    local name, value = line:match("^([^:]+):%s?(.*)$")
    if name then hs[#hs + 1] = { name, value } end
  end
  mails[#mails + 1] = { headers = hs, body = (body:gsub("\r?\n", "\r\n")) }
end

local n = 0
for _ = 1, tonumber(ROUNDS) do
  for _, m in ipairs(mails) do
    local conn = try("connect", mt.connect, SOCK, 10, 1)
    pcall(mt.conninfo, conn, "localhost", "127.0.0.1")
    try("mailfrom", mt.mailfrom, conn, "<x@example.org>")
    pcall(mt.rcptto, conn, "<root@localhost>")
    for _, h in ipairs(m.headers) do try("header", mt.header, conn, h[1], h[2]) end
    try("eoh", mt.eoh, conn)
    try("body", mt.bodystring, conn, m.body)
    try("eom", mt.eom, conn)
    mt.getreply(conn)
    mt.disconnect(conn)
    n = n + 1
  end
end
print("mails: " .. n)
