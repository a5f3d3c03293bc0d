package topology

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// validName accepts site names: what can be written unquoted and read back in a message.
func validName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// validHostName also allows dots, so that hosts may be named by their FQDN.
func validHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// validDNSName checks RFC 1123 host name syntax (labels of letters, digits and hyphens).
func validDNSName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

func isIPAddress(v string) bool { _, err := netip.ParseAddr(v); return err == nil }

// checkAddress returns what is wrong with a host address, or "".
func checkAddress(v string) string {
	if _, err := netip.ParseAddr(v); err == nil {
		return ""
	}
	if _, err := netip.ParsePrefix(v); err == nil {
		return fmt.Sprintf("%q has a subnet length; address takes a plain IP (put %s on a nic to give its subnet)", v, v)
	}
	if strings.Contains(v, ":") {
		return fmt.Sprintf("%q is not an IP address or DNS name (a port belongs in agent:, not address:)", v)
	}
	if !validDNSName(v) {
		return fmt.Sprintf("%q is not an IP address or DNS name", v)
	}
	return ""
}

// normalizeAgent turns "host" or "host:port" into "host:port" with the default port.
func normalizeAgent(v string, defPort int) (string, string) {
	host, port := v, ""
	if h, p, err := net.SplitHostPort(v); err == nil {
		if p == "" {
			return "", fmt.Sprintf("%q ends in a colon with no port (write %s or %s%d)", v, h, v, defPort)
		}
		host, port = h, p
	} else if strings.Count(v, ":") == 1 {
		return "", fmt.Sprintf("%q is not host or host:port (%v)", v, err)
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return "", fmt.Sprintf("%q has no host (write 10.0.0.4 or 10.0.0.4:%d)", v, defPort)
	}
	if msg := checkAddress(host); msg != "" {
		return "", fmt.Sprintf("%q: the host part is not an IP address or DNS name", v)
	}
	n := defPort
	if port != "" {
		p, err := strconv.Atoi(port)
		if err != nil || p < 1 || p > 65535 {
			return "", fmt.Sprintf("%q: port %q is not a port number (1 to 65535)", v, port)
		}
		n = p
	}
	return net.JoinHostPort(host, strconv.Itoa(n)), ""
}

// checkProxy says what is wrong with an appliance's proxy: "Only HTTP proxy is supported" and
// Site Recovery "doesn't support using an authentication proxy" (asr-modernized.md 2.7).
func checkProxy(v string) string { // for the appliance and the configuration server alike
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return fmt.Sprintf("%q is not a proxy URL (write http://proxy.contoso.local:3128)", v)
	}
	if u.Scheme != "http" {
		return fmt.Sprintf("%s: the appliance supports only an HTTP proxy (http://...), not %s", v, u.Scheme)
	}
	if u.User != nil {
		return "the appliance does not support an authenticating proxy: remove the user and password from the URL (and from the proxy's policy for the appliance)"
	}
	if u.Port() == "" {
		return fmt.Sprintf("%s has no port (write http://%s:3128 or the proxy's port)", v, u.Hostname())
	}
	return ""
}

// validKeyVault: Key Vault names are 3 to 24 characters, letters, digits and hyphens, starting
// with a letter and not ending with a hyphen.
func validKeyVault(s string) bool {
	if len(s) < 3 || len(s) > 24 || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// validStorageAccount: Azure storage account names are 3 to 24 characters, lower-case letters
// and digits only.
func validStorageAccount(s string) bool {
	if len(s) < 3 || len(s) > 24 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// checkBlobURL says what is wrong with a test blob's URL, or "": an https URL of a blob
// (container and blob name), its SAS in the query.
func checkBlobURL(v string) string {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return fmt.Sprintf("%q is not a URL (give the test blob's https URL with its SAS token)", redactQuery(v))
	}
	if u.Scheme != "https" {
		return fmt.Sprintf("%s: Azure Storage is reached over https, not %s", redactQuery(v), u.Scheme)
	}
	if parts := strings.Split(strings.Trim(u.Path, "/"), "/"); len(parts) < 2 || parts[0] == "" {
		return fmt.Sprintf("%s names no blob: write https://ACCOUNT.blob.core.windows.net/CONTAINER/BLOB?SAS", redactQuery(v))
	}
	return ""
}

// redactQuery drops a URL's query (a SAS token is a credential) for messages.
func redactQuery(v string) string {
	if i := strings.IndexByte(v, '?'); i >= 0 {
		return v[:i] + "?..."
	}
	return v
}
