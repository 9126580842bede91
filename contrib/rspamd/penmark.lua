--[[
penmark for rspamd: asks `penmark serve` whether the mail was written by the
sender its From: claims, and inserts one of four symbols:

  PENMARK_IMPERSONATION  penmark says someone else wrote it
  PENMARK_GENUINE        penmark says the claimed sender wrote it
  PENMARK_ABSTAIN        penmark cannot tell (unknown sender, profile not
                         ready, too little text)
  PENMARK_FAIL           penmark could not be asked (socket missing, timeout,
                         an error answer): the mail is scanned as usual

The options of the symbol carry the verdict's probability (p=...) and the
top reasons. Installed as a plugin (plugins.d/penmark.lua) with its settings
in local.d/penmark.conf: see docs/rspamd.md.
]]

local rspamd_http = require "rspamd_http"
local rspamd_logger = require "rspamd_logger"
local rspamd_upstream_list = require "rspamd_upstream_list"
local lua_util = require "lua_util"
local ucl = require "ucl"

local N = 'penmark'

local settings = {
  socket = '/run/penmark/penmark.sock', -- `penmark serve --socket`
  tenant = nil,       -- the tenant of every mail, or
  tenants = {},       -- From: domain -> tenant (wins over `tenant`)
  timeout = 2.0,      -- seconds for one answer; past it PENMARK_FAIL
  max_size = 25000000, -- larger mail is not sent (the daemon's --max-bytes)
  max_reasons = 3,    -- reasons carried in the options
  scores = {
    impersonation = 10.0,
    genuine = -0.5,
    abstain = 0.0,
    fail = 0.0,
  },
}

local symbols = {
  impersonation = 'PENMARK_IMPERSONATION',
  genuine = 'PENMARK_GENUINE',
  abstain = 'PENMARK_ABSTAIN',
  fail = 'PENMARK_FAIL',
}

local upstreams

-- Percent-encodes a query value (tenants are [a-z0-9._-], but say so
-- rather than trust the configuration).
local function urlencode(s)
  return (s:gsub('[^%w%.%-_~]', function(c)
    return string.format('%%%02X', string.byte(c))
  end))
end

local function tenant_of(task)
  local from = task:get_from('mime')
  local domain = from and from[1] and from[1].domain
  if domain and settings.tenants[domain:lower()] then
    return settings.tenants[domain:lower()]
  end
  return settings.tenant
end

-- A reason text fit for a symbol option: one line, at most 160 bytes (cut
-- at a character boundary).
local function option_text(s)
  s = tostring(s):gsub('[%c]+', ' ')
  if #s > 160 then
    local cut = 157
    while cut > 0 and s:byte(cut + 1) and s:byte(cut + 1) >= 0x80 and
        s:byte(cut + 1) < 0xC0 do
      cut = cut - 1
    end
    s = s:sub(1, cut) .. '...'
  end
  return s
end

local function fail(task, why)
  rspamd_logger.infox(task, '%s: %s (mail scanned without penmark)', N, why)
  task:insert_result(symbols.fail, 1.0, option_text(why))
end

local function on_answer(task, upstream, err, code, body)
  if err then
    if upstream then upstream:fail() end
    return fail(task, 'penmark serve: ' .. tostring(err))
  end
  if upstream then upstream:ok() end
  local parser = ucl.parser()
  local ok, perr = parser:parse_string(tostring(body or ''))
  local res = ok and parser:get_object() or nil
  if code ~= 200 then
    local msg = type(res) == 'table' and res.error or 'no explanation'
    return fail(task, string.format('penmark serve answered %s: %s', code, msg))
  end
  if type(res) ~= 'table' or type(res.verdict) ~= 'string' then
    return fail(task, 'penmark serve: unreadable answer: ' .. tostring(perr))
  end
  local opts = {}
  if type(res.probability) == 'number' then
    opts[#opts + 1] = string.format('p=%.4f', res.probability)
  end
  local sym
  if res.verdict == 'impersonation' then
    sym = symbols.impersonation
  elseif res.verdict == 'genuine' then
    sym = symbols.genuine
  else
    sym = symbols.abstain
    opts[#opts + 1] = res.verdict
  end
  if type(res.reasons) == 'table' then
    for i = 1, math.min(#res.reasons, settings.max_reasons) do
      local r = res.reasons[i]
      if type(r) == 'table' and r.text then
        opts[#opts + 1] = option_text(r.text)
      end
    end
  end
  task:insert_result(sym, 1.0, opts)
end

local function penmark_check(task)
  local tenant = tenant_of(task)
  if not tenant then return end -- not a protected domain: nothing to say
  if task:get_size() > settings.max_size then
    return fail(task, string.format('mail of %d bytes is over max_size',
        task:get_size()))
  end
  local upstream = upstreams:get_upstream_round_robin()
  if not upstream then
    return fail(task, 'no penmark serve socket')
  end
  local ok = rspamd_http.request({
    task = task,
    url = 'http://localhost/v1/score?tenant=' .. urlencode(tenant),
    upstream = upstream,
    method = 'post',
    body = task:get_content(),
    mime_type = 'message/rfc822',
    timeout = settings.timeout,
    callback = function(err, code, body)
      on_answer(task, upstream, err, code, body)
    end,
  })
  -- A socket that is missing fails at once: the callback never runs.
  if not ok then
    upstream:fail()
    fail(task, 'cannot connect to penmark serve at ' .. settings.socket)
  end
end

local opts = rspamd_config:get_all_opt(N)
if not opts then
  lua_util.disable_module(N, 'config')
  return
end
settings = lua_util.override_defaults(settings, opts)
if not settings.tenant and next(settings.tenants) == nil then
  rspamd_logger.errx(rspamd_config, '%s: neither tenant nor tenants is set', N)
  lua_util.disable_module(N, 'config')
  return
end
local lowered = {}
for domain, tenant in pairs(settings.tenants) do
  lowered[tostring(domain):lower()] = tenant
end
settings.tenants = lowered
upstreams = rspamd_upstream_list.create(rspamd_config, settings.socket)
if not upstreams then
  rspamd_logger.errx(rspamd_config, '%s: bad socket %s', N, settings.socket)
  lua_util.disable_module(N, 'config')
  return
end

local id = rspamd_config:register_symbol({
  name = 'PENMARK_CHECK',
  type = 'callback',
  callback = penmark_check,
  group = N,
  -- the symbol cache waits this long for the asynchronous answer
  augmentations = { string.format('timeout=%f', settings.timeout) },
})
local descriptions = {
  impersonation = 'penmark: not written by the claimed sender',
  genuine = 'penmark: written by the claimed sender',
  abstain = 'penmark: cannot tell (unknown sender, profile not ready, too little text)',
  fail = 'penmark: not asked (daemon down, timeout or error); mail scanned as usual',
}
for what, name in pairs(symbols) do
  rspamd_config:register_symbol({
    name = name,
    type = 'virtual',
    parent = id,
    score = tonumber(settings.scores[what]) or 0.0,
    group = N,
    description = descriptions[what],
  })
end
rspamd_logger.infox(rspamd_config, '%s: scoring with penmark serve at %s',
    N, settings.socket)
