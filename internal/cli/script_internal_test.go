package cli

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/fuzztest"
)

func TestParseScript(t *testing.T) {
	tests := []struct {
		name, script string
		want         []scriptLine
		err          string
	}{
		{name: "Tutor's init task", script: "# comment\nwebhook-receiver migrate\n\nwebhook-receiver check\n",
			want: []scriptLine{{2, []string{"migrate"}}, {4, []string{"check"}}}},
		{name: "quotes and continuations", script: "/webhook-receiver import-django \\\n  --from 'mysql://u:p$w@h/db?x=1' \"--shop=a \\\"b\\\"\" ''  # c\nwebhook-receiver version",
			want: []scriptLine{{1, []string{"import-django", "--from", "mysql://u:p$w@h/db?x=1", `--shop=a "b"`, ""}}, {3, []string{"version"}}}},
		{name: "a word with a hash", script: "webhook-receiver a#b", want: []scriptLine{{1, []string{"a#b"}}}},
		{name: "another program", script: "webhook-receiver migrate\nrm -rf /", err: `line 2: "rm" is not a webhook-receiver command`},
		{name: "a variable", script: "webhook-receiver check --config $HOME/x", err: `line 1: '$' needs a shell`},
		{name: "a variable in double quotes", script: `webhook-receiver check --config "$HOME"`, err: `line 1: '$' would be expanded`},
		{name: "two commands on a line", script: "webhook-receiver migrate; webhook-receiver check", err: `line 1: ';' needs a shell`},
		{name: "and-and", script: "webhook-receiver migrate && webhook-receiver check", err: `'&' needs a shell`},
		{name: "a glob", script: "webhook-receiver check --config *.yaml", err: `'*' needs a shell`},
		{name: "unterminated", script: "webhook-receiver 'check", err: "line 1: unterminated single quote"},
		{name: "unterminated double", script: "webhook-receiver \"check", err: "line 1: unterminated double quote"},
		{name: "nested", script: "webhook-receiver script x", err: "a script cannot run a script"},
		{name: "bare name", script: "\n\nwebhook-receiver", err: "line 3: webhook-receiver without a command"},
		{name: "empty", script: "# nothing\n", err: "no command"},
		{name: "trailing backslash", script: "webhook-receiver check \\", err: "a backslash ends the script"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseScript(tt.script)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(scriptLine{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzParseScript: any text either parses into webhook-receiver commands or
// is refused, without a panic.
func FuzzParseScript(f *testing.F) {
	for _, s := range []string{"webhook-receiver migrate\nwebhook-receiver check", "webhook-receiver 'a\nb' \"c\\\"d\" \\\n e # f",
		"webhook-receiver \"\\", "'", "webhook-receiver \xff'\xfe'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lines, err := parseScript(s)
		if err != nil {
			return
		}
		for _, l := range lines {
			if len(l.args) == 0 || l.args[0] == "script" || l.number < 1 {
				t.Fatalf("bad line %+v from %q", l, s)
			}
		}
	})
}

func TestFuzzTargets(t *testing.T) {
	fuzztest.Run(t, "FuzzParseScript")
}
