package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// postgresDB is a database the benchmark created on a PostgreSQL server.
type postgresDB struct {
	server string // URL of the server's administrative database
	name   string
	url    string // URL of the new database
}

// createPostgres creates an empty database bench_<unix time>, followed by
// _suffix when given, on the server that serverURL (TEST_DATABASE_URL) names.
func createPostgres(ctx context.Context, serverURL, suffix string) (*postgresDB, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		// The parse error would repeat the URL, password included.
		return nil, errors.New("TEST_DATABASE_URL is not a valid URL")
	}
	p := &postgresDB{server: serverURL, name: fmt.Sprintf("bench_%d", time.Now().Unix())}
	if suffix != "" {
		p.name += "_" + suffix
	}
	u.Path = "/" + p.name
	p.url = u.String()
	if err := p.exec(ctx, "CREATE DATABASE "+p.name); err != nil {
		return nil, fmt.Errorf("create database %s: %w", p.name, err)
	}
	return p, nil
}

// drop removes the database, ending any connection still open on it.
func (p *postgresDB) drop() error {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := p.exec(ctx, "DROP DATABASE IF EXISTS "+p.name+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", p.name, err)
	}
	return nil
}

func (p *postgresDB) exec(ctx context.Context, statement string) error {
	db, err := sql.Open("pgx", p.server)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, statement)
	return err
}
