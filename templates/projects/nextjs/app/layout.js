import './globals.css';

export const metadata = {
  title: 'My App',
  description: 'Notes stored in SQLite and replicated by Litestream.',
};

export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
