package store

import (
	"strings"
	"testing"
	"time"
)

func TestMySQLConfig(t *testing.T) {
	for _, c := range []struct {
		url, net, addr, user, pass, db, tls, err string
	}{
		{url: "mysql://webhook_receiver01:p%40ss@mysql:3306/webhook_receiver", net: "tcp", addr: "mysql:3306",
			user: "webhook_receiver01", pass: "p@ss", db: "webhook_receiver"},
		{url: "mariadb://root@db/old", net: "tcp", addr: "db:3306", user: "root", db: "old"},
		{url: "mysql://root@/old", net: "tcp", addr: "127.0.0.1:3306", user: "root", db: "old"},
		{url: "mysql://root:pw@[::1]:3307/old?tls=skip-verify", net: "tcp", addr: "[::1]:3307", user: "root", pass: "pw", db: "old", tls: "skip-verify"},
		{url: "mysql://root@localhost/old?socket=/run/mysqld/mysqld.sock", net: "unix", addr: "/run/mysqld/mysqld.sock", user: "root", db: "old"},
		{url: "mysql://root@host", err: "name the database"},
		{url: "mysql://root@host/a/b", err: "name the database"},
		{url: "mysql://root@host/db?tls=maybe", err: `tls="maybe"`},
		{url: "mysql://root@host/db?charset=latin1", err: `unknown parameter "charset"`},
	} {
		cfg, err := mysqlConfig(c.url)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v; want %q", c.url, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.url, err)
			continue
		}
		if cfg.Net != c.net || cfg.Addr != c.addr || cfg.User != c.user || cfg.Passwd != c.pass || cfg.DBName != c.db ||
			cfg.TLSConfig != c.tls || !cfg.ParseTime || cfg.Loc != time.UTC {
			t.Errorf("%s: %+v", c.url, cfg)
		}
	}
}

func TestDjangoTime(t *testing.T) {
	want := time.Date(2021, 3, 4, 5, 6, 7, 123456000, time.UTC)
	for _, src := range []any{
		"2021-03-04 05:06:07.123456",         // Django on SQLite
		[]byte("2021-03-04 05:06:07.123456"), // MySQL without parseTime
		"2021-03-04 05:06:07.123456+00:00",
		"2021-03-04T07:06:07.123456+02:00",
		want.In(time.FixedZone("x", 3600)), // PostgreSQL, MySQL with parseTime
	} {
		var got time.Time
		if err := (djangoTime{&got}).Scan(src); err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("%v: %v, %v", src, got, err)
		}
	}
	var got time.Time
	for _, src := range []any{"yesterday", 42} {
		if err := (djangoTime{&got}).Scan(src); err == nil {
			t.Errorf("%v: no error", src)
		}
	}
}
