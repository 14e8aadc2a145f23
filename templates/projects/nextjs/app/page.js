'use client';

import { useEffect, useState } from 'react';

export default function Home() {
  const [notes, setNotes] = useState([]);
  const [text, setText] = useState('');
  const [error, setError] = useState('');

  async function load() {
    setNotes(await (await fetch('/api/notes')).json());
  }

  async function add(event) {
    event.preventDefault();
    const res = await fetch('/api/notes', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text }),
    });
    setError(res.ok ? '' : (await res.json()).error);
    if (res.ok) {
      setText('');
      await load();
    }
  }

  useEffect(() => {
    load();
  }, []);

  return (
    <main>
      <h1>My App</h1>
      <p>Notes stored in SQLite and replicated by Litestream.</p>
      <form onSubmit={add}>
        <input value={text} onChange={(e) => setText(e.target.value)} placeholder="Write a note" maxLength={1000} required />
        <button type="submit">Add</button>
      </form>
      {error && <p className="error">{error}</p>}
      <ul>
        {notes.map((note) => (
          <li key={note.id}>{note.text}</li>
        ))}
      </ul>
    </main>
  );
}
