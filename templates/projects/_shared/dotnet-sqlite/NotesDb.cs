using Microsoft.Data.Sqlite;

namespace MyApp;

public record Note(long Id, string Text, string CreatedAt);

/// <summary>
/// The app's SQLite database, opened with the settings that suit a web server in production.
/// Litestream (ls-mix replicate) needs WAL mode; the other PRAGMAs keep writes fast and safe
/// while it replicates.
/// </summary>
public sealed class NotesDb
{
    private readonly string connectionString;

    public NotesDb(string connectionString)
    {
        var dataSource = new SqliteConnectionStringBuilder(connectionString).DataSource;
        var dir = Path.GetDirectoryName(Path.GetFullPath(dataSource));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        this.connectionString = connectionString;
    }

    public SqliteConnection Open()
    {
        var conn = new SqliteConnection(connectionString);
        conn.Open();
        using var cmd = conn.CreateCommand();
        // Per-connection settings (journal_mode=WAL is stored in the file by Migrate).
        cmd.CommandText = """
            PRAGMA synchronous = NORMAL;
            PRAGMA busy_timeout = 5000;
            PRAGMA foreign_keys = ON;
            PRAGMA cache_size = -20000;
            PRAGMA mmap_size = 134217728;
            """;
        cmd.ExecuteNonQuery();
        return conn;
    }

    public void Migrate()
    {
        using var conn = Open();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS notes (
                id         INTEGER PRIMARY KEY,
                text       TEXT NOT NULL CHECK (length(text) BETWEEN 1 AND 1000),
                created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
            );
            """;
        cmd.ExecuteNonQuery();
    }

    public void Ping()
    {
        using var conn = Open();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT 1";
        cmd.ExecuteScalar();
    }

    public IReadOnlyList<Note> List(int limit)
    {
        using var conn = Open();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT id, text, created_at FROM notes ORDER BY id DESC LIMIT $limit";
        cmd.Parameters.AddWithValue("$limit", limit);
        using var reader = cmd.ExecuteReader();
        var notes = new List<Note>();
        while (reader.Read()) notes.Add(new Note(reader.GetInt64(0), reader.GetString(1), reader.GetString(2)));
        return notes;
    }

    public Note Add(string text)
    {
        using var conn = Open();
        using var cmd = conn.CreateCommand();
        cmd.CommandText = "INSERT INTO notes (text) VALUES ($text) RETURNING id, text, created_at";
        cmd.Parameters.AddWithValue("$text", text);
        using var reader = cmd.ExecuteReader();
        reader.Read();
        return new Note(reader.GetInt64(0), reader.GetString(1), reader.GetString(2));
    }
}
