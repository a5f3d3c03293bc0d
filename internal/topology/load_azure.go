package topology

import (
	"strings"

	"github.com/goccy/go-yaml/ast"
)

var azureKeys = []string{"cloud", "private_endpoints", "cache_storage_accounts", "log_storage_accounts", "key_vault", "endpoints", "bandwidth_test_url"}

// azure reads the vault's own names. Storage account names follow Azure's rule (3 to 24
// lower-case letters and digits); endpoints are DNS names.
func (d *decoder) azure(a *Azure, sec field) {
	for _, f := range d.mapping(sec.val, sec.path, azureKeys) {
		switch f.key {
		case "cache_storage_accounts":
			a.CacheStorageAccounts = d.storageAccounts(f)
		case "log_storage_accounts":
			a.LogStorageAccounts = d.storageAccounts(f)
		case "cloud":
			if v, ok := d.enum(f, cloudNames, "cloud"); ok && v != 0 {
				a.Cloud = Cloud(v)
			}
		case "private_endpoints":
			a.PrivateEndpoints, _ = d.boolField(f)
		case "key_vault":
			if v, ok := d.str(f); ok {
				if !validKeyVault(v) {
					d.errorf(f.val, f.path, "%q is not a Key Vault name (3 to 24 letters, digits and hyphens, starting with a letter; without .vault.azure.net)", v)
				}
				a.KeyVault = strings.ToLower(v)
			}
		case "bandwidth_test_url":
			if v, ok := d.strChecked(f, checkBlobURL); ok {
				a.BandwidthTestURL = v
			}
		case "endpoints":
			d.seq(f.val, f.path, func(i int, item ast.Node, p string) {
				v, ok := d.strItem(item, p)
				if !ok {
					return
				}
				if strings.Contains(v, "*") || !validDNSName(v) {
					d.errorf(item, p, "%q is not a DNS name; give the vault's real names, not wildcards (netprobe knows the documented wildcards)", v)
					return
				}
				a.Endpoints = append(a.Endpoints, strings.ToLower(strings.TrimSuffix(v, ".")))
			})
		}
	}
}

// storageAccounts reads a list of storage account names.
func (d *decoder) storageAccounts(f field) []string {
	var out []string
	d.seq(f.val, f.path, func(i int, item ast.Node, p string) {
		v, ok := d.strItem(item, p)
		if !ok {
			return
		}
		if !validStorageAccount(v) {
			d.errorf(item, p, "%q is not a storage account name (3 to 24 lower-case letters and digits, without .blob.core.windows.net)", v)
			return
		}
		out = append(out, v)
	})
	return out
}
