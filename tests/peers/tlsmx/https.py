"""HTTPS server of the MTA-STS policies: /srv/www/<host>/.well-known/mta-sts.txt
for the Host the client asks for (one server, one certificate with every
mta-sts.<domain> name), as text/plain. Logs one line per request."""
import http.server
import os
import ssl


class Handler(http.server.SimpleHTTPRequestHandler):
    def translate_path(self, path):
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        self.directory = os.path.join("/srv/www", os.path.basename(host) or "none")
        return super().translate_path(path)


def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain("/certs/https.pem", "/certs/https.key")
    httpd = http.server.ThreadingHTTPServer(("0.0.0.0", 443), Handler)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    print("https: serving /srv/www on 443", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
