-- miltertest script: sends one mail (MAIL) to the milter at SOCK and checks
-- the milter's answer. EXPECT: "accept" or "reject". Optional (-D):
--   FORGE=1     adds a forged X-Penmark-Verdict that must be removed;
--   FORGE=2     adds two forged X-Penmark-Verdict and an x-penmark-reasons,
--               all of which must be removed;
--   QUARANTINE=1 the mail must be quarantined (0: must not be);
--   TAGGED=1    the Subject must be changed (the tag);
--   VERDICT     the exact X-Penmark-Verdict value the milter must add;
--   IP          the client address (conninfo), default 127.0.0.1;
--   AUTH        the {auth_authen} macro at MAIL FROM (an authenticated user);
--   KILLPID     sends SIGTERM to that process 20 ms after the end of the
--               mail (while a long mail is scored): it must still be answered;
--   MAIL2, VERDICT2  a second mail on a second connection, sent up to its
--               body before MAIL and ended right after it, whose verdict
--               must be VERDICT2 (the milter busy with MAIL).
-- Prints "ok", or "FAIL: ..." and exits 1.
local function main()
-- Every mt.* call is checked: a failing call would otherwise end
-- miltertest with status 1 and no message.
local function try(what, f, ...)
  local ok, r = pcall(f, ...)
  if not ok or r == nil then error(what .. " failed: " .. tostring(r)) end
  return r
end

local function read_mail(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  local sep = data:find("\r?\n\r?\n")
  local head, body = data:sub(1, sep), data:sub(sep):gsub("^\r?\n\r?\n", "")
  return head:gsub("\r?\n[ \t]+", " "), body
end

-- connection, envelope and headers; then the body after an optional pause
local function start(path, forge)
  local head, body = read_mail(path)
  local conn = try("connect", mt.connect, SOCK, 10, 1)
  if mt.conninfo(conn, "client.example", IP or "127.0.0.1") ~= nil then
    error("conninfo")
  end
  if AUTH then mt.macro(conn, SMFIC_MAIL, "{auth_authen}", AUTH) end
  if mt.mailfrom(conn, "<x@example.org>") ~= nil then error("mailfrom") end
  pcall(mt.rcptto, conn, "<root@localhost>")
  if forge == "1" or forge == "2" then
    mt.header(conn, "X-Penmark-Verdict", "genuine; p=0.0000; forged")
  end
  if forge == "2" then
    mt.header(conn, "x-penmark-reasons", "forged")
    mt.header(conn, "X-Penmark-Verdict", "genuine; forged again")
  end
  for line in head:gmatch("[^\r\n]+") do
    local name, value = line:match("^([^:]+):%s?(.*)$")
    if name then
      if mt.header(conn, name, value) ~= nil then error("header " .. name) end
    end
  end
  if mt.eoh(conn) ~= nil then error("eoh") end
  return conn, body
end

-- in chunks of at most 60000 bytes, as an MTA sends them (a milter packet
-- holds 64 KiB at most)
local function send_body(conn, body)
  local crlf = body:gsub("\r?\n", "\r\n")
  for at = 1, #crlf, 60000 do
    if mt.bodystring(conn, crlf:sub(at, at + 59999)) ~= nil then
      error("body")
    end
  end
end

local function check_verdict(conn, want, which)
  if want and not mt.eom_check(conn, MT_HDRADD, "X-Penmark-Verdict", want) then
    error(which .. ": no 'X-Penmark-Verdict: " .. want .. "' added")
  end
end

local conn2
if MAIL2 then
  local body2
  conn2, body2 = start(MAIL2, "0")
  send_body(conn2, body2)
end
local conn, body = start(MAIL, FORGE)
send_body(conn, body)
if KILLPID then -- SIGTERM 20 ms after the end of the mail: while it is scored
  os.execute("(sleep 0.02; kill -TERM " .. KILLPID .. ") &")
end
if mt.eom(conn) ~= nil then error("eom") end
if conn2 then
  if mt.eom(conn2) ~= nil then error("eom of MAIL2") end
end
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
  check_verdict(conn, VERDICT, "MAIL")
  if (FORGE == "1" or FORGE == "2") and
     not mt.eom_check(conn, MT_HDRDELETE, "X-Penmark-Verdict") then
    error("the forged X-Penmark-Verdict was not removed")
  end
  if FORGE == "2" and
     not mt.eom_check(conn, MT_HDRDELETE, "x-penmark-reasons") then
    error("the forged x-penmark-reasons was not removed")
  end
  if QUARANTINE == "1" and not mt.eom_check(conn, MT_QUARANTINE) then
    error("not quarantined")
  end
  if TAGGED == "1" and not mt.eom_check(conn, MT_HDRCHANGE, "Subject") then
    error("the subject was not tagged")
  end
  if QUARANTINE == "0" and mt.eom_check(conn, MT_QUARANTINE) then
    error("quarantined")
  end
end
if conn2 then
  check_verdict(conn2, VERDICT2, "MAIL2")
  mt.disconnect(conn2)
end
mt.disconnect(conn)
end
local ok, e = pcall(main)
if not ok then print("FAIL: " .. tostring(e)); os.exit(1) end
print("ok")
