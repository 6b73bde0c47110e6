// Command verify checks ai-audit's signed checkpoints and C2SP tlog-proof
// files with Go's own golang.org/x/mod/sumdb/note and sumdb/tlog, and
// writes Go-made counterparts for the Rust side to verify.
//
// It is driven by interop/go/run.sh; see there.
//
//	verify -dir DIR [-mode files|proof|all]   exit 0 iff everything verifies
//	verify -gen DIR                           write Go-signed files into DIR
//
// Files in DIR (written by the Rust test checkpoint::interop_export):
//
//	vkey              verifier key, name+hexid+base64(0x01||pubkey)
//	origin            the expected checkpoint origin line
//	checkpoint.note   the signed checkpoint note
//	entry_hash        hex of the 32-byte entry hash (the leaf input)
//	index             leaf index, decimal
//	proof             RFC 6962 audit path, one base64 hash a line, leaf sibling first
//	entry.tlog-proof  the same proof as a c2sp.org/tlog-proof@v1 file
//
// sumdb/tlog.ParseTree only accepts the "go.sum database tree" origin, so the
// origin line is checked here and the size and root lines are handed to
// tlog.ParseTree under that fixed first line (tlog's own strict parser for
// them); inclusion is checked with tlog.CheckRecord, whose hashing is RFC 6962.
package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const proofHeader = "c2sp.org/tlog-proof@v1"

func main() {
	dir := flag.String("dir", "", "directory of files written by the Rust test checkpoint::interop_export")
	mode := flag.String("mode", "all", "what to verify: files, proof or all")
	gen := flag.String("gen", "", "write Go-signed files into this directory for checkpoint::interop_import")
	flag.Parse()
	var err error
	switch {
	case *gen != "":
		err = generate(*gen)
	case *dir != "":
		err = verify(*dir, *mode)
	default:
		err = errors.New("need -dir or -gen")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "verify: FAIL:", err)
		os.Exit(1)
	}
}

func read(dir, name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(dir, name))
}

func readLine(dir, name string) (string, error) {
	b, err := read(dir, name)
	return strings.TrimSuffix(string(b), "\n"), err
}

// openCheckpoint verifies msg with Go's note.Open under the single pinned key
// and parses the checkpoint text.
func openCheckpoint(msg []byte, vkey, origin string) (tlog.Tree, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("note.NewVerifier: %w", err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("note.Open: %w", err)
	}
	if len(n.Sigs) == 0 || n.Sigs[0].Name != v.Name() || n.Sigs[0].Hash != v.KeyHash() {
		return tlog.Tree{}, errors.New("note.Open: no signature by the pinned key")
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) != 4 {
		return tlog.Tree{}, errors.New("checkpoint text has fewer than three lines")
	}
	if lines[0] != origin {
		return tlog.Tree{}, fmt.Errorf("checkpoint origin %q, expected %q", lines[0], origin)
	}
	if _, err := tlog.ParseTree([]byte(n.Text)); err == nil {
		return tlog.Tree{}, errors.New("unexpected: tlog.ParseTree accepted a non-go.sum origin")
	}
	tree, err := tlog.ParseTree([]byte("go.sum database tree\n" + lines[1] + "\n" + lines[2] + "\n"))
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("tlog.ParseTree (size and root lines): %w", err)
	}
	return tree, nil
}

func entryLeaf(dir string) (tlog.Hash, error) {
	s, err := readLine(dir, "entry_hash")
	if err != nil {
		return tlog.Hash{}, err
	}
	entry, err := hex.DecodeString(s)
	if err != nil || len(entry) != 32 {
		return tlog.Hash{}, errors.New("entry_hash is not 64 hex digits")
	}
	// Our leaf input is the 32-byte entry hash: leaf = SHA-256(0x00 || entry).
	return tlog.RecordHash(entry), nil
}

func verify(dir, mode string) error {
	vkey, err := readLine(dir, "vkey")
	if err != nil {
		return err
	}
	origin, err := readLine(dir, "origin")
	if err != nil {
		return err
	}
	leaf, err := entryLeaf(dir)
	if err != nil {
		return err
	}
	if mode == "files" || mode == "all" {
		if err := verifyFiles(dir, vkey, origin, leaf); err != nil {
			return fmt.Errorf("separate files: %w", err)
		}
		fmt.Println("verify: ok: checkpoint.note (note.Open) + proof (tlog.CheckRecord)")
	}
	if mode == "proof" || mode == "all" {
		if err := verifyProofFile(dir, vkey, origin, leaf); err != nil {
			return fmt.Errorf("entry.tlog-proof: %w", err)
		}
		fmt.Println("verify: ok: entry.tlog-proof (c2sp.org/tlog-proof@v1, note.Open, tlog.CheckRecord)")
	}
	if mode != "files" && mode != "proof" && mode != "all" {
		return fmt.Errorf("unknown -mode %q", mode)
	}
	return nil
}

func verifyFiles(dir, vkey, origin string, leaf tlog.Hash) error {
	msg, err := read(dir, "checkpoint.note")
	if err != nil {
		return err
	}
	tree, err := openCheckpoint(msg, vkey, origin)
	if err != nil {
		return err
	}
	idxText, err := readLine(dir, "index")
	if err != nil {
		return err
	}
	index, err := strconv.ParseInt(idxText, 10, 64)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	proofText, err := read(dir, "proof")
	if err != nil {
		return err
	}
	var proof tlog.RecordProof
	for _, line := range strings.Split(strings.TrimSuffix(string(proofText), "\n"), "\n") {
		if line == "" {
			continue
		}
		h, err := tlog.ParseHash(line)
		if err != nil {
			return fmt.Errorf("proof line: %w", err)
		}
		proof = append(proof, h)
	}
	if err := tlog.CheckRecord(proof, tree.N, tree.Hash, index, leaf); err != nil {
		return fmt.Errorf("tlog.CheckRecord: %w", err)
	}
	return nil
}

// parseProofFile parses c2sp.org/tlog-proof@v1 as written in C2SP's tlog-proof.md.
func parseProofFile(b []byte) (extra []byte, index int64, proof tlog.RecordProof, msg []byte, err error) {
	rest := b
	next := func() (string, error) {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return "", errors.New("truncated")
		}
		line := string(rest[:i])
		rest = rest[i+1:]
		return line, nil
	}
	line, err := next()
	if err != nil || line != proofHeader {
		return nil, 0, nil, nil, errors.New("missing " + proofHeader + " line")
	}
	if line, err = next(); err != nil {
		return nil, 0, nil, nil, err
	}
	if strings.HasPrefix(line, "extra ") {
		if extra, err = base64.StdEncoding.DecodeString(strings.TrimPrefix(line, "extra ")); err != nil {
			return nil, 0, nil, nil, fmt.Errorf("extra: %w", err)
		}
		if line, err = next(); err != nil {
			return nil, 0, nil, nil, err
		}
	}
	idx := strings.TrimPrefix(line, "index ")
	index, err = strconv.ParseInt(idx, 10, 64)
	if err != nil || !strings.HasPrefix(line, "index ") || idx != strconv.FormatInt(index, 10) || index < 0 {
		return nil, 0, nil, nil, errors.New("bad index line")
	}
	for {
		if line, err = next(); err != nil {
			return nil, 0, nil, nil, err
		}
		if line == "" {
			break
		}
		h, err := tlog.ParseHash(line)
		if err != nil {
			return nil, 0, nil, nil, fmt.Errorf("proof line: %w", err)
		}
		proof = append(proof, h)
	}
	return extra, index, proof, rest, nil
}

func verifyProofFile(dir, vkey, origin string, leaf tlog.Hash) error {
	b, err := read(dir, "entry.tlog-proof")
	if err != nil {
		return err
	}
	_, index, proof, msg, err := parseProofFile(b)
	if err != nil {
		return err
	}
	tree, err := openCheckpoint(msg, vkey, origin)
	if err != nil {
		return err
	}
	if err := tlog.CheckRecord(proof, tree.N, tree.Hash, index, leaf); err != nil {
		return fmt.Errorf("tlog.CheckRecord: %w", err)
	}
	return nil
}

// generate writes a checkpoint signed by Go's note.Sign over a 13-record tree
// built by sumdb/tlog, and a tlog-proof file for record 9 from tlog.ProveRecord.
func generate(dir string) error {
	const name, origin, size, index = "go.example/log", "go.example/log/t/go-tenant/e/0", 13, 9
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return err
	}
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			if x < 0 || x >= int64(len(stored)) {
				return nil, errors.New("hash index out of range")
			}
			out[i] = stored[x]
		}
		return out, nil
	})
	var entries [][]byte
	for i := 0; i < size; i++ {
		e := sha256.Sum256([]byte(fmt.Sprintf("go entry %d", i)))
		entries = append(entries, e[:])
		hs, err := tlog.StoredHashes(int64(i), e[:], reader)
		if err != nil {
			return err
		}
		stored = append(stored, hs...)
	}
	root, err := tlog.TreeHash(size, reader)
	if err != nil {
		return err
	}
	msg, err := note.Sign(&note.Note{Text: fmt.Sprintf("%s\n%d\n%s\n", origin, size, root)}, signer)
	if err != nil {
		return err
	}
	proof, err := tlog.ProveRecord(size, index, reader)
	if err != nil {
		return err
	}
	if err := tlog.CheckRecord(proof, size, root, index, tlog.RecordHash(entries[index])); err != nil {
		return err
	}
	var pf strings.Builder
	fmt.Fprintf(&pf, "%s\nindex %d\n", proofHeader, index)
	for _, h := range proof {
		fmt.Fprintf(&pf, "%s\n", h)
	}
	pf.WriteString("\n")
	pf.Write(msg)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string]string{
		"vkey":             vkey + "\n",
		"origin":           origin + "\n",
		"checkpoint.note":  string(msg),
		"entry_hash":       hex.EncodeToString(entries[index]) + "\n",
		"entry.tlog-proof": pf.String(),
	}
	for f, content := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(content), 0o644); err != nil {
			return err
		}
	}
	fmt.Println("verify: wrote Go-signed checkpoint and tlog-proof to", dir)
	return nil
}
