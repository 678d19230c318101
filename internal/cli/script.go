package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

const scriptHelp = `Usage: webhook-receiver script [sh -e -c] SCRIPT

Run the webhook-receiver commands of SCRIPT, one a line, in order, and stop at
the first that fails. The container image has no shell: Tutor runs each init
task as "sh -e -c TASK" in a job whose entrypoint is "webhook-receiver script".
Lines starting with # are comments; words may be quoted as in sh; anything a
shell would expand or redirect ($, backquotes, ;, &, |, <, >, globs) is an
error, and so is a line that is not a webhook-receiver command.
`

// script runs a script of webhook-receiver commands without a shell.
func script(ctx context.Context, env *environment, args []string) error {
	if len(args) == 1 && isHelpFlag(args[0]) {
		fmt.Fprint(env.stdout, scriptHelp)
		return errHelp
	}
	if len(args) > 0 && args[0] == "sh" {
		args = args[1:]
	}
	for len(args) > 1 && (args[0] == "-e" || args[0] == "-c" || args[0] == "-ec" || args[0] == "-ce") {
		args = args[1:]
	}
	if len(args) != 1 {
		fmt.Fprint(env.stderr, scriptHelp)
		return ErrUsage
	}
	lines, err := parseScript(args[0])
	if err != nil {
		return fmt.Errorf("script: %w", err)
	}
	for _, l := range lines {
		// Only the command's name: its arguments may hold a password.
		fmt.Fprintf(env.stderr, "script: line %d: webhook-receiver %s\n", l.number, l.args[0])
		if err := dispatch(ctx, env, "webhook-receiver", l.args[0], l.args[1:]); err != nil {
			return fmt.Errorf("script line %d (webhook-receiver %s): %w", l.number, l.args[0], err)
		}
	}
	return nil
}

func isHelpFlag(s string) bool { return s == "-h" || s == "-help" || s == "--help" }

// scriptLine is one command of a script: the arguments after
// "webhook-receiver", and the line it starts on.
type scriptLine struct {
	number int
	args   []string
}

// parseScript splits a script into commands as sh would, for the subset
// of sh that needs no expansion: words separated by blanks, single and
// double quotes, backslash escapes and line continuations, # comments.
func parseScript(text string) ([]scriptLine, error) {
	var (
		lines         []scriptLine
		words         []string
		word          strings.Builder
		inWord        bool
		line, started = 1, 1
	)
	endWord := func() {
		if inWord {
			words = append(words, word.String())
			word.Reset()
			inWord = false
		}
	}
	endLine := func() error {
		endWord()
		defer func() { words = nil }()
		if len(words) == 0 {
			return nil
		}
		if words[0] != "webhook-receiver" && words[0] != "/webhook-receiver" {
			return fmt.Errorf("line %d: %q is not a webhook-receiver command (the image has no shell)", started, words[0])
		}
		switch {
		case len(words) == 1:
			return fmt.Errorf("line %d: webhook-receiver without a command", started)
		case words[1] == "script":
			return fmt.Errorf("line %d: a script cannot run a script", started)
		}
		lines = append(lines, scriptLine{number: started, args: words[1:]})
		return nil
	}
	r := []rune(text)
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case c == '\n':
			if err := endLine(); err != nil {
				return nil, err
			}
			line++
			started = line
		case c == ' ' || c == '\t' || c == '\r':
			endWord()
		case c == '#' && !inWord:
			for i+1 < len(r) && r[i+1] != '\n' {
				i++
			}
		case c == '\\':
			if i+1 == len(r) {
				return nil, fmt.Errorf("line %d: a backslash ends the script", line)
			}
			i++
			if r[i] == '\n' { // a continuation line
				line++
				continue
			}
			word.WriteRune(r[i])
			inWord = true
		case c == '\'':
			end := strings.IndexRune(string(r[i+1:]), '\'')
			if end < 0 {
				return nil, fmt.Errorf("line %d: unterminated single quote", line)
			}
			quoted := string(r[i+1:])[:end]
			line += strings.Count(quoted, "\n")
			word.WriteString(quoted)
			i += len([]rune(quoted)) + 1
			inWord = true
		case c == '"':
			inWord = true
			for i++; ; i++ {
				if i == len(r) {
					return nil, fmt.Errorf("line %d: unterminated double quote", line)
				}
				if r[i] == '"' {
					break
				}
				switch r[i] {
				case '$', '`':
					return nil, fmt.Errorf("line %d: %q would be expanded by a shell: quote it with single quotes", line, r[i])
				case '\\':
					if i+1 < len(r) && strings.ContainsRune("$`\"\\\n", r[i+1]) {
						i++
						if r[i] == '\n' {
							line++
							continue
						}
					}
				case '\n':
					line++
				}
				word.WriteRune(r[i])
			}
		case strings.ContainsRune("$`;&|<>()*?[{}~", c):
			return nil, fmt.Errorf("line %d: %q needs a shell: quote it, or write one webhook-receiver command a line", line, c)
		default:
			word.WriteRune(c)
			inWord = true
		}
	}
	if err := endLine(); err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		return nil, errors.New("no command")
	}
	return lines, nil
}
