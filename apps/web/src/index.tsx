import { render } from 'solid-js/web';
// The shared look first: each page's own stylesheet, imported by the page, builds on it.
import './styles.css';
import { App } from './App';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
render(() => <App />, root);
