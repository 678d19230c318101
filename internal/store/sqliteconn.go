package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	"modernc.org/sqlite"
)

// maxCachedStmts bounds the statements a SQLite connection keeps compiled:
// the hot paths use a few dozen texts; queries built per call (the
// console's filters, IN lists) come and go.
const maxCachedStmts = 128

// sqliteConnector opens SQLite connections that keep every statement they
// run compiled, by its text, and run it again from there: SQLite compiles
// SQL text on every execution otherwise, and the job queue's statements
// (River's job insert in the webhook writer's transaction, its fetches and
// completions) are run as text. A statement that is being read (its rows
// are open) when its text comes again runs uncached.
type sqliteConnector struct {
	dsn string
	drv *sqlite.Driver
}

func (c sqliteConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	inner, ok := conn.(sqliteDriverConn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("sqlite driver connection %T lacks the context methods", conn)
	}
	return &cachingConn{sqliteDriverConn: inner, stmts: map[string]*cachedStmt{}}, nil
}

func (c sqliteConnector) Driver() driver.Driver { return c.drv }

// sqliteDriverConn is what database/sql uses of the driver's connection.
type sqliteDriverConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type cachingConn struct {
	sqliteDriverConn
	stmts map[string]*cachedStmt
}

// ctxStmt is what a kept statement runs with.
type ctxStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

type cachedStmt struct {
	stmt    ctxStmt
	reading bool // its rows are open
}

// cached returns the compiled statement for query, compiling it if need
// be; nil when it is being read already or cannot be compiled alone (the
// caller then runs the text as the driver does).
func (c *cachingConn) cached(ctx context.Context, query string) *cachedStmt {
	if s, ok := c.stmts[query]; ok {
		if s.reading {
			return nil
		}
		return s
	}
	ds, err := c.PrepareContext(ctx, query)
	if err != nil {
		return nil // the uncached run reports the error
	}
	st, ok := ds.(ctxStmt)
	if !ok {
		ds.Close()
		return nil
	}
	c.evict()
	s := &cachedStmt{stmt: st}
	c.stmts[query] = s
	return s
}

// evict makes room for one more statement, closing one not being read.
func (c *cachingConn) evict() {
	if len(c.stmts) < maxCachedStmts {
		return
	}
	for q, s := range c.stmts {
		if !s.reading {
			s.stmt.Close()
			delete(c.stmts, q)
			return
		}
	}
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if s := c.cached(ctx, query); s != nil {
		return s.stmt.ExecContext(ctx, args)
	}
	return c.sqliteDriverConn.ExecContext(ctx, query, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s := c.cached(ctx, query)
	if s == nil {
		return c.sqliteDriverConn.QueryContext(ctx, query, args)
	}
	rows, err := s.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.reading = true
	return &cachedRows{Rows: rows, s: s}, nil
}

// Close closes the statements kept and then the connection.
func (c *cachingConn) Close() error {
	var errs []error
	for q, s := range c.stmts {
		errs = append(errs, s.stmt.Close())
		delete(c.stmts, q)
	}
	return errors.Join(append(errs, c.sqliteDriverConn.Close())...)
}

// cachedRows are the rows of a kept statement, which may run again once
// they are closed.
type cachedRows struct {
	driver.Rows
	s *cachedStmt
}

func (r *cachedRows) Close() error {
	r.s.reading = false
	return r.Rows.Close()
}
