/* The Lua that rspamd runs for us: the banned-attachment rules of amavis,
 * ARC_TRUSTED_SIGNERS, GTUBE in large messages (rspamd.local.lua), and the
 * headers of blocked and tagged mail (milter_headers.conf). */
#include "rspamd/rspamd.h"

#include <string.h>

#include "common/common.h"

/* amavis's default $banned_filename_re (Debian's 20-debian_defaults), the
 * same regular expressions: double extensions anywhere in the name, a
 * Windows class id, the basic executable extensions, three MIME types and
 * file(1)'s Windows executable type (rspamd's detected "exe"). Names inside
 * archives (zip, rar, 7z, ...) count as well, as amavis unpacks them. */
static const char banned_lua[] =
	"local rspamd_regexp = require \"rspamd_regexp\"\n"
	"\n"
	"local banned_names = {\n"
	"  rspamd_regexp.create_cached([[/\\.[^.\\/]*\\.(exe|vbs|pif|scr|bat|cmd|com|cpl|dll)\\.?$/i]]),\n"
	"  rspamd_regexp.create_cached([[/\\{[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}\\}?$/i]]),\n"
	"  rspamd_regexp.create_cached([[/.\\.(exe|vbs|pif|scr|bat|cmd|com|cpl)$/i]]),\n"
	"}\n"
	"local banned_types = {\n"
	"  ['application/x-msdownload'] = true,\n"
	"  ['application/x-msdos-program'] = true,\n"
	"  ['application/hta'] = true,\n"
	"}\n"
	"\n"
	"local function banned_name(name)\n"
	"  if not name or name == '' then return false end\n"
	"  for _, re in ipairs(banned_names) do\n"
	"    if re:match(name) then return true end\n"
	"  end\n"
	"  return false\n"
	"end\n"
	"\n"
	"rspamd_config:register_symbol({\n"
	"  name = 'MTACTL_BANNED',\n"
	"  type = 'normal',\n"
	"  score = 0.0,\n"
	"  group = 'mtactl',\n"
	"  description = 'Attachment banned by the amavis rules (FINAL_BANNED_DESTINY)',\n"
	"  callback = function(task)\n"
	"    local found = {}\n"
	"    for _, p in ipairs(task:get_parts() or {}) do\n"
	"      local fname = p:get_filename()\n"
	"      local mt, st = p:get_type()\n"
	"      local ctype = string.lower(string.format('%s/%s', mt or '', st or ''))\n"
	"      if banned_name(fname) or banned_types[ctype] or p:get_detected_ext() == 'exe' then\n"
	"        table.insert(found, fname or ctype)\n"
	"      end\n"
	"      if p:is_archive() then\n"
	"        local arch = p:get_archive()\n"
	"        for _, f in ipairs(arch:get_files_full(1000) or {}) do\n"
	"          if banned_name(f.name) then\n"
	"            table.insert(found, string.format('%s/%s', fname or '?', f.name))\n"
	"          end\n"
	"        end\n"
	"      end\n"
	"    end\n"
	"    if #found > 0 then\n"
	"      task:insert_result('MTACTL_BANNED', 1.0, found)\n"
	"    end\n"
	"  end,\n"
	"})\n"
	"\n";

/* rspamd finds GTUBE only in text parts up to 8 KB, and then rejects
 * outright, whatever the destiny; larger ones score as SpamAssassin's
 * GTUBE does (1000), so the spam levels and destiny apply to them. */
static const char gtube_lua[] =
	"local gtube = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'\n"
	"rspamd_config:register_symbol({\n"
	"  name = 'MTACTL_GTUBE',\n"
	"  type = 'normal',\n"
	"  score = 1000.0,\n"
	"  group = 'mtactl',\n"
	"  description = 'GTUBE test pattern (scored like SpamAssassin)',\n"
	"  callback = function(task)\n"
	"    for _, p in ipairs(task:get_text_parts() or {}) do\n"
	"      local c = p:get_content()\n"
	"      if c and string.find(tostring(c), gtube, 1, true) then return true end\n"
	"    end\n"
	"    return false\n"
	"  end,\n"
	"})\n"
	"\n";

/* A valid ARC chain whose newest seal (highest i=) is by a trusted
 * forwarder: force_actions.conf skips DMARC reject and quarantine then. */
static const char arc_lua[] =
	"rspamd_config:register_symbol({\n"
	"  name = 'MTACTL_ARC_TRUSTED',\n"
	"  type = 'normal',\n"
	"  score = 0.0,\n"
	"  group = 'mtactl',\n"
	"  description = 'Valid ARC chain sealed last by an ARC_TRUSTED_SIGNERS domain',\n"
	"  callback = function(task)\n"
	"    if not next(arc_trusted) or not task:has_symbol('ARC_ALLOW') then return false end\n"
	"    local best_i, best_d = -1, nil\n"
	"    for _, h in ipairs(task:get_header_full('ARC-Seal') or {}) do\n"
	"      local v = ';' .. string.gsub(h.decoded or h.value or '', '%s+', '')\n"
	"      local i = tonumber(string.match(v, ';i=(%d+)'))\n"
	"      local d = string.match(v, ';d=([^;]+)')\n"
	"      if i and d and i > best_i then best_i, best_d = i, string.lower(d) end\n"
	"    end\n"
	"    if best_d and arc_trusted[best_d] then return true, best_d end\n"
	"    return false\n"
	"  end,\n"
	"})\n"
	"rspamd_config:register_dependency('MTACTL_ARC_TRUSTED', 'ARC_CHECK')\n";

void rspamd_render_lua(const struct settings *s, struct strbuf *out)
{
	sb_adds(out, banned_lua);
	sb_adds(out, gtube_lua);
	sb_adds(out, "-- ARC_TRUSTED_SIGNERS\nlocal arc_trusted = {");
	const char *v = s->value[V_ARC_TRUSTED_SIGNERS];
	while (*v) {
		size_t skip = strspn(v, " ,\t");
		v += skip;
		size_t len = strcspn(v, " ,\t");
		if (!len)
			break;
		sb_adds(out, " ['");
		for (size_t i = 0; i < len; i++) /* check_domains: no quote can be here */
			sb_addc(out, (char)(v[i] >= 'A' && v[i] <= 'Z' ? v[i] + 32 : v[i]));
		sb_adds(out, "'] = true,");
		v += len;
	}
	sb_adds(out, " }\n");
	sb_adds(out, arc_lua);
}

/* The kinds of held mail in the order their X-Quarantine is chosen when
 * several apply (amavis's order: virus, banned, bad header, spam). */
struct kind {
	const char *name, *test;
	enum var_id destiny;
};

void rspamd_render_headers(const struct settings *s, struct strbuf *out)
{
	bool clamav = !strcmp(s->value[V_CLAMAV_DAEMON], "yes");
	bool authres = !strcmp(s->value[V_AUTH_RESULTS], "yes");
	sb_addf(out, "# Our headers (the routine mtactl below), the virus names, and one\n"
		   "# Authentication-Results (AUTH_RESULTS=%s).\n"
		   "use = [\"mtactl\", \"x-virus\"%s];\n"
		   "# Mail of our users and this host gets no spam or authentication\n"
		   "# headers, but the quarantine and virus ones still.\n"
		   "skip_local = true;\n"
		   "skip_authenticated = true;\n"
		   "local_headers = [\"mtactl\", \"x-virus\"];\n"
		   "authenticated_headers = [\"mtactl\", \"x-virus\"];\n"
		   "routines {\n"
		   "  x-virus {\n    header = \"X-Virus\";\n    remove = 0;\n    symbols = [\"CLAM_VIRUS\"];\n  }\n"
		   "  authentication-results {\n    header = \"Authentication-Results\";\n"
		   "    remove = 0;\n    add_smtp_user = false;\n  }\n"
		   "}\n",
		s->value[V_AUTH_RESULTS], authres ? ", \"authentication-results\"" : "");
	sb_adds(out, "custom {\n  mtactl = <<EOD\n");
	sb_addf(out, "local tag, tag2 = %s, %s\n"
		     "local clamav = %s\n"
		     "local host = '%s'\n",
		s->value[V_SA_TAG_LEVEL_DEFLT], s->value[V_SA_TAG2_LEVEL_DEFLT],
		clamav ? "true" : "false", s->hostname);
	static const struct kind kinds[] = {
		{"virus", "CLAM_VIRUS", V_FINAL_VIRUS_DESTINY},
		{"banned", "MTACTL_BANNED", V_FINAL_BANNED_DESTINY},
		{"badh", "BROKEN_HEADERS MULTIPLE_UNIQUE_HEADERS INVALID_FROM_8BIT INVALID_RCPT_8BIT",
		 V_FINAL_BAD_HEADER_DESTINY},
	};
	sb_adds(out, "-- {kind, destiny, symbols}: the kinds whose destiny holds mail\n"
		     "local kinds = {\n");
	for (size_t i = 0; i < ARRAY_LEN(kinds); i++) {
		const char *destiny = s->value[kinds[i].destiny];
		if (!rspamd_destiny_holds(destiny))
			continue;
		sb_addf(out, "  {'%s', '%s', {", kinds[i].name, destiny);
		for (const char *t = kinds[i].test; *t;) {
			size_t len = strcspn(t, " ");
			sb_addf(out, "'%.*s',", (int)len, t);
			t += len + (t[len] == ' ');
		}
		sb_adds(out, "}},\n");
	}
	sb_adds(out, "  {'dmarc', 'D_DISCARD', {'DMARC_POLICY_QUARANTINE'}},\n}\n");
	const char *spam = s->value[V_FINAL_SPAM_DESTINY];
	sb_addf(out, "local spam_destiny = '%s'\n", rspamd_destiny_holds(spam) ? spam : "D_DISCARD");
	sb_adds(out,
		"-- Copies of our headers in mail from outside are removed first.\n"
		"local ours = {'X-Spam-Flag', 'X-Spam-Score', 'X-Spam-Level', 'X-Spam-Status',\n"
		"  'X-Quarantine', 'X-Virus-Scanned', 'X-Virus'}\n"
		"\n"
		"local function detail(task, syms)\n"
		"  for _, name in ipairs(syms) do\n"
		"    local r = task:get_symbol(name)\n"
		"    if r then\n"
		"      local opts = r[1].options or {}\n"
		"      return string.format('%s(%s)', name, table.concat(opts, ','))\n"
		"    end\n"
		"  end\n"
		"end\n"
		"\n"
		"return function(task, common_meta)\n"
		"  local add, remove = {}, {}\n"
		"  for _, h in ipairs(ours) do remove[h] = 0 end\n"
		"  local ip = task:get_from_ip()\n"
		"  local own = task:get_user() ~= nil or (ip and ip:is_valid() and ip:is_local())\n"
		"  local res = task:get_metric_score('default')\n"
		"  local score = res and res[1] or 0\n"
		"  if not own and score >= tag then\n"
		"    local tests = {}\n"
		"    for _, sym in ipairs(task:get_symbols_all()) do\n"
		"      if sym.score ~= 0 then\n"
		"        table.insert(tests, string.format('%s=%.3f', sym.name, sym.score))\n"
		"      end\n"
		"    end\n"
		"    table.sort(tests)\n"
		"    add['X-Spam-Score'] = string.format('%.3f', score)\n"
		"    local stars = string.rep('*', math.min(64, math.floor(score)))\n"
		"    if stars ~= '' then add['X-Spam-Level'] = stars end\n"
		"    add['X-Spam-Status'] = string.format('%s, score=%.3f tagged_above=%s required=%s tests=[%s]',\n"
		"      score >= tag2 and 'Yes' or 'No', score, tag, tag2, table.concat(tests, ', '))\n"
		"    if score >= tag2 then add['X-Spam-Flag'] = 'YES' end\n"
		"  end\n"
		"  if clamav and not task:has_symbol('CLAM_VIRUS_FAIL') then\n"
		"    add['X-Virus-Scanned'] = 'ClamAV using rspamd at ' .. host\n"
		"  end\n"
		"  if task:get_metric_action('default') == 'quarantine' then\n"
		"    local value\n"
		"    for _, k in ipairs(kinds) do\n"
		"      local d = detail(task, k[3])\n"
		"      if d then value = string.format('%s %s %s', k[1], k[2], d); break end\n"
		"    end\n"
		"    add['" RSPAMD_QUARANTINE_HEADER "'] = value or\n"
		"      string.format('spam %s score=%.1f', spam_destiny, score)\n"
		"  end\n"
		"  return nil, add, remove, {}\n"
		"end\n"
		"EOD\n}\n");
}
