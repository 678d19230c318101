package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// parsePages parses each page template together with the layout.
func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"when":        when,
		"age":         age,
		"prettyJSON":  prettyJSON,
		"statusClass": func(s any) string { return "status-" + strings.ToLower(fmt.Sprint(s)) },
		"withQuery":   withQuery,
		"orderURL":    orderURL,
		"plural":      plural,
		"startedBy":   startedBy,
		"count":       func(m map[enroll.ItemStatus]int64, s string) int64 { return m[enroll.ItemStatus(s)] },
	}
	pages := map[string]*template.Template{}
	names, _ := fs.Glob(files, "templates/*.html")
	for _, name := range names {
		base := strings.TrimSuffix(path.Base(name), ".html")
		if base == "layout" {
			continue
		}
		pages[base] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", name))
	}
	return pages
}

// view is what every page template gets.
type view struct {
	Title string
	User  string
	Nav   string
	Flash string
	Error string
	Data  any
}

// render writes a page; a template error is answered 500 without details.
func (c *console) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	v := view{User: user(r), Data: data}
	if v.User != "" {
		v.Flash = c.flash(r.URL.Query())
	}
	c.renderView(w, status, page, v)
}

func (c *console) renderView(w http.ResponseWriter, status int, page string, v view) {
	v.Nav = page
	var buf bytes.Buffer
	if err := c.pages[page].Execute(&buf, v); err != nil {
		c.Logger.Error("admin page not rendered", "page", page, "error", err)
		http.Error(w, "the page could not be shown", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fail shows an error page: the reason for a client error, a generic
// sentence for a server one (its cause goes to the log).
func (c *console) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	msg := err.Error()
	if status >= 500 {
		c.Logger.Error("admin request failed", "path", r.URL.Path, "error", err)
		msg = "Something went wrong on our side (the database may be unreachable). Try again in a moment."
	}
	c.renderView(w, status, "error", view{User: user(r), Title: http.StatusText(status), Error: msg})
}

func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// age is a duration rounded for people.
func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return d.Round(time.Minute).String()
	default:
		return d.Round(time.Hour).String()
	}
}

// prettyJSON indents a JSON body or headers; anything else is shown as is.
func prettyJSON(v any) string {
	var b []byte
	switch v := v.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	}
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") != nil {
		return string(b)
	}
	return out.String()
}

// withQuery returns the path with the query, one key changed.
func withQuery(p string, q url.Values, key, value string) string {
	q2 := url.Values{}
	for k, v := range q {
		if v[0] != "" && k != "done" && k != "n" && k != "delivery" {
			q2[k] = v
		}
	}
	q2.Set(key, value)
	return p + "?" + q2.Encode()
}
