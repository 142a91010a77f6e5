-- HAProxy services answering 413 PAYLOAD_TOO_LARGE (deploy/proxy/haproxy.cfg.tmpl).
-- An answer sent while the client is still sending its body meets a closed
-- connection: the client's write fails (EPIPE) and it never reads the 413. So the
-- body is read and thrown away first, up to 8 MiB (past that the connection is
-- closed anyway), as the gateway does for its own routes (bodyLimitThenDiscard).
local DRAIN_LIMIT = 8 * 1024 * 1024

local function refuse(body)
  return function(applet)
    local read = 0
    while read < DRAIN_LIMIT do
      local chunk = applet:receive(16384)
      if chunk == nil or #chunk == 0 then break end
      read = read + #chunk
    end
    applet:set_status(413, "Payload Too Large")
    applet:add_header("content-type", "application/json")
    applet:add_header("cache-control", "no-store")
    applet:add_header("content-length", tostring(#body))
    -- Closed after the answer, as the gateway does: past the drain limit the rest of the body is still coming.
    applet:add_header("connection", "close")
    applet:start_response()
    applet:send(body)
  end
end

core.register_service("payload_too_large", "http", refuse(
  '{"code":"PAYLOAD_TOO_LARGE","message":"The request body is larger than 64 KiB.","hint":"Send a smaller body; documents go to POST /kyc/documents."}'))
core.register_service("document_too_large", "http", refuse(
  '{"code":"PAYLOAD_TOO_LARGE","message":"The document is larger than this server accepts.","hint":"Upload a smaller file."}'))
