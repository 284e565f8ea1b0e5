<?php
/*
 * Runs static/cartback-woocommerce.php outside WordPress: the few WordPress and
 * WooCommerce functions it calls are stubbed here, the scenario comes as JSON
 * on stdin, and what the plugin did (redirects, dies, remote calls, options,
 * the page it printed) goes out as JSON on stdout when the script ends.
 *
 * Scenario: {"run": hook or "page", "webhooks": [{delivery_url, secret, status}],
 *            "can": bool, "post": {...}, "get": {...}, "options": {...},
 *            "remote": {"code": int, "body": str}}
 */
define('ABSPATH', __DIR__);
$scenario = json_decode(stream_get_contents(STDIN), true);
$GLOBALS['hooks'] = [];
$GLOBALS['events'] = [];
$GLOBALS['options'] = $scenario['options'] ?? [];
$_POST = $scenario['post'] ?? [];
$_GET = $scenario['get'] ?? [];

function note(array $event) { $GLOBALS['events'][] = $event; }
function add_action($hook, $callback) { $GLOBALS['hooks'][$hook][] = $callback; }
function add_filter($hook, $callback) { $GLOBALS['hooks'][$hook][] = $callback; }
function apply_filters($hook, $value, ...$more) {
    foreach ($GLOBALS['hooks'][$hook] ?? [] as $callback) { $value = $callback($value, ...$more); }
    return $value;
}
function register_activation_hook($file, $callback) { $GLOBALS['hooks']['activate'][] = $callback; }
function register_deactivation_hook($file, $callback) { $GLOBALS['hooks']['deactivate'][] = $callback; }
function wp_next_scheduled($hook) { return false; }
function wp_schedule_event($at, $recurrence, $hook) { note(['scheduled' => [$recurrence, $hook]]); }
function wp_clear_scheduled_hook($hook) { note(['unscheduled' => $hook]); }
function plugin_basename($file) { return 'cartback/' . basename($file); }
function load_plugin_textdomain() { return true; }
function __($text, $domain) { return $text; }
function esc_html__($text, $domain) { return esc_html(__($text, $domain)); }
function esc_html($text) { return htmlspecialchars((string) $text, ENT_QUOTES, 'UTF-8'); }
function esc_attr($text) { return esc_html($text); }
function esc_url($url) { return esc_html($url); }
function esc_url_raw($url) { return preg_match('#^https?://#', (string) $url) ? (string) $url : ''; }
function sanitize_key($key) { return preg_replace('/[^a-z0-9_\-]/', '', strtolower((string) $key)); }
function sanitize_text_field($text) { return trim(strip_tags((string) $text)); }
function wp_unslash($value) { return $value; }
function wp_parse_url($url, $component = -1) { return parse_url($url, $component); }
function add_query_arg(array $args, $url) { return $url . (strpos($url, '?') === false ? '?' : '&') . http_build_query($args); }
function admin_url($path = '') { return 'https://shop.example/wp-admin/' . $path; }
function current_user_can($capability) { note(['capability' => $capability]); return !empty($GLOBALS['scenario']['can']); }
function wp_die($message, $title = '', $args = []) { note(['die' => $message, 'status' => $args['response'] ?? 500]); exit; }
function check_admin_referer($action) {
    note(['nonce_checked' => $action]);
    if (($_POST['_wpnonce'] ?? '') !== "nonce-for-$action") { wp_die('The link you followed has expired.', '', ['response' => 403]); }
    return 1;
}
function wp_nonce_field($action) { echo '<input type="hidden" name="_wpnonce" value="nonce-for-' . esc_attr($action) . '">'; }
function submit_button($text, $type = 'primary', $name = 'submit', $wrap = true, $other = []) {
    echo '<button type="submit" class="button-' . esc_attr($type) . '"' . (isset($other['disabled']) ? ' disabled' : '') . '>' . esc_html($text) . '</button>';
}
function wp_safe_redirect($location) {
    $host = parse_url($location, PHP_URL_HOST);
    $allowed = apply_filters('allowed_redirect_hosts', ['shop.example']);
    note(['redirect' => in_array($host, $allowed, true) ? $location : admin_url()]);
}
function get_option($name, $default = false) { return $GLOBALS['options'][$name] ?? $default; }
function update_option($name, $value) { $GLOBALS['options'][$name] = $value; return true; }
function human_time_diff($from) { return (time() - $from) . ' s'; }
function is_wp_error($thing) { return false; }
function wp_remote_get($url, $args = []) { note(['remote_get' => $url]); return $GLOBALS['scenario']['remote'] ?? ['code' => 500, 'body' => '']; }
function wp_remote_retrieve_response_code($answer) { return $answer['code']; }
function wp_remote_retrieve_body($answer) { return $answer['body']; }
function wp_enqueue_script($handle, $src) {
    $tag = apply_filters('script_loader_tag', '<script src="' . esc_url($src) . '"></script>', $handle);
    note(['script' => $tag]);
}
function wc_get_webhook_statuses() { return ['active' => 'Active', 'paused' => 'Paused', 'disabled' => 'Disabled']; }

class WC_Webhook {
    public function __construct(private array $data) {}
    public function get_delivery_url() { return $this->data['delivery_url']; }
    public function get_secret() { return $this->data['secret']; }
    public function get_status() { return $this->data['status']; }
}
class WC_Data_Store {
    public static function load($type) { return new self(); }
    public function get_webhooks_ids() { return array_keys($GLOBALS['scenario']['webhooks'] ?? []); }
}
function wc_get_webhook($id) { return new WC_Webhook($GLOBALS['scenario']['webhooks'][$id]); }

register_shutdown_function(function () {
    $html = ob_get_clean();
    fwrite(STDOUT, json_encode(['events' => $GLOBALS['events'], 'options' => $GLOBALS['options'], 'html' => $html]));
});
ob_start();
require getenv('CARTBACK_PLUGIN');
$run = $scenario['run'];
if ($run === 'page') {
    cartback_settings_page();
} else {
    foreach ($GLOBALS['hooks'][$run] as $callback) { $callback(); }
}
