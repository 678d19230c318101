package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

func hashPassword(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "hash-password", "Read a password from standard input (one line) and print its bcrypt hash, the value of\n"+
		"WEBHOOK_RECEIVER_ADMIN_PASSWORD_HASH. On a terminal it asks twice and does not echo:\n"+
		"  webhook-receiver hash-password\n"+
		"  printf '%s\\n' \"$PASSWORD\" | webhook-receiver hash-password")
	if err := parse(fs, args); err != nil {
		return err
	}
	password, err := readPassword(ctx, env)
	if err != nil {
		return err
	}
	if password == "" {
		return errors.New("empty password: refusing to hash it")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if errors.Is(err, bcrypt.ErrPasswordTooLong) {
		return errors.New("password longer than 72 bytes: bcrypt would ignore the rest; choose a shorter one")
	}
	if err != nil {
		return fmt.Errorf("hash the password: %w", err)
	}
	fmt.Fprintln(env.stdout, string(hash))
	return nil
}

// readPassword reads one line: from a terminal, twice and unechoed, with
// prompts on standard error; otherwise as it comes.
func readPassword(ctx context.Context, env *environment) (string, error) {
	if env.stdin == nil {
		return "", errors.New("no standard input to read the password from")
	}
	in := bufio.NewReader(env.stdin)
	f, ok := env.stdin.(*os.File)
	if !ok || !isTerminal(f) {
		return readLine(in)
	}
	restore, err := hideInput(f)
	if err != nil {
		return "", fmt.Errorf("hide the password as it is typed: %w", err)
	}
	defer restore()
	var typed [2]string
	for i, prompt := range []string{"Password: ", "Again: "} {
		fmt.Fprint(env.stderr, prompt)
		line := make(chan string, 1)
		failed := make(chan error, 1)
		go func() { // a read of a terminal cannot be interrupted: Ctrl-C must not wait for Enter
			s, err := readLine(in)
			if err != nil {
				failed <- err
				return
			}
			line <- s
		}()
		select {
		case typed[i] = <-line:
		case err := <-failed:
			fmt.Fprintln(env.stderr)
			return "", err
		case <-ctx.Done():
			fmt.Fprintln(env.stderr)
			return "", ctx.Err()
		}
		fmt.Fprintln(env.stderr)
	}
	if typed[0] != typed[1] {
		return "", errors.New("the passwords differ")
	}
	return typed[0], nil
}

// readLine reads a line without its line ending; the last line may lack one.
func readLine(r *bufio.Reader) (string, error) {
	s, err := r.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && s != "") {
		if errors.Is(err, io.EOF) {
			return "", nil
		}
		return "", fmt.Errorf("read the password: %w", err)
	}
	return strings.TrimRight(s, "\r\n"), nil
}
