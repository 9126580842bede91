-- miltertest script: sends one mail (MAIL) to the milter at SOCK and checks
-- the milter's answer. EXPECT: "accept" or "reject"; FORGE=1 adds a forged
-- X-Penmark-Verdict header that must be removed. Prints the added
-- X-Penmark-Verdict value on a line "verdict: ..." for the caller.
-- Every mt.* call is wrapped: a failing call would otherwise end miltertest
local function main()
-- with status 1 and no message.
local function try(what, f, ...)
  local ok, r = pcall(f, ...)
  if not ok or r == nil then error(what .. " failed: " .. tostring(r)) end
  return r
end

local f = assert(io.open(MAIL, "rb"))
local data = f:read("*a")
f:close()
local sep = data:find("\r?\n\r?\n")
local head, body = data:sub(1, sep), data:sub(sep):gsub("^\r?\n\r?\n", "")
head = head:gsub("\r?\n[ \t]+", " ")

local conn = try("connect", mt.connect, SOCK, 10, 1)
pcall(mt.conninfo, conn, "localhost", "127.0.0.1")
if mt.mailfrom(conn, "<x@example.org>") ~= nil then error("mailfrom") end
pcall(mt.rcptto, conn, "<root@localhost>")
if FORGE == "1" then
  mt.header(conn, "X-Penmark-Verdict", "genuine; p=0.0000; forged")
end
for line in head:gmatch("[^\r\n]+") do
  local name, value = line:match("^([^:]+):%s?(.*)$")
  if name then
    if mt.header(conn, name, value) ~= nil then error("header " .. name) end
  end
end
if mt.eoh(conn) ~= nil then error("eoh") end
if mt.bodystring(conn, (body:gsub("\r?\n", "\r\n"))) ~= nil then error("body") end
if mt.eom(conn) ~= nil then error("eom") end
local reply = mt.getreply(conn)
if EXPECT == "reject" then
  if reply ~= SMFIR_REPLYCODE and reply ~= SMFIR_REJECT then
    error("expected a reject, got " .. tostring(reply))
  end
else
  if reply ~= SMFIR_ACCEPT and reply ~= SMFIR_CONTINUE then
    error("expected accept, got " .. tostring(reply))
  end
  if not mt.eom_check(conn, MT_HDRADD, "X-Penmark-Verdict") then
    error("no X-Penmark-Verdict added")
  end
  if FORGE == "1" and
     not mt.eom_check(conn, MT_HDRDELETE, "X-Penmark-Verdict") then
    error("the forged X-Penmark-Verdict was not removed")
  end
  if QUARANTINE == "1" and not mt.eom_check(conn, MT_QUARANTINE) then
    error("not quarantined")
  end
end
mt.disconnect(conn)
end
local ok, e = pcall(main)
if not ok then print("FAIL: " .. tostring(e)); os.exit(1) end
print("ok")
